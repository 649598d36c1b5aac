#include "net/SourceLimiter.h"


namespace ForwardOptimal {
namespace Net {

SourceLimiter::Lease::Lease(SourceLimiter* pOwner, const MappedAddress& address, bool granted):
	_pOwner(pOwner),
	_address(address),
	_granted(granted)
{
}


SourceLimiter::Lease::Lease(Lease&& other) noexcept:
	_pOwner(other._pOwner),
	_address(other._address),
	_granted(other._granted)
{
	other._pOwner = nullptr;
}


SourceLimiter::Lease& SourceLimiter::Lease::operator=(Lease&& other) noexcept
{
	if (this != &other)
	{
		release();
		_pOwner = other._pOwner;
		_address = other._address;
		_granted = other._granted;
		other._pOwner = nullptr;
	}
	return *this;
}


SourceLimiter::Lease::~Lease()
{
	release();
}


void SourceLimiter::Lease::release()
{
	if (_pOwner)
		_pOwner->release(_address);
	_pOwner = nullptr;
}


SourceLimiter::Lease SourceLimiter::acquire(const MappedAddress& source, unsigned limit)
{
	if (limit == 0)
		return Lease();
	std::lock_guard<std::mutex> lock(_mutex);
	unsigned& count = _counts[source]; // a new address starts at 0, which is below any limit
	if (count >= limit)
		return Lease(nullptr, source, false);
	++count;
	return Lease(this, source, true);
}


void SourceLimiter::release(const MappedAddress& address)
{
	std::lock_guard<std::mutex> lock(_mutex);
	auto it = _counts.find(address);
	if (it != _counts.end() && --it->second == 0)
		_counts.erase(it);
}

} } // namespace ForwardOptimal::Net
