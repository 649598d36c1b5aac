#pragma once

#include <cerrno>

namespace ForwardOptimal {
namespace Net {

/// True for the errors of a socket call that mean *this* host or process ran short, not the
/// peer: out of descriptors (EMFILE per process, ENFILE system-wide) or kernel memory
/// (ENOBUFS, ENOMEM). Such a failure says nothing about a target's health.
inline bool isResourceShortage(int error)
{
	return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

} } // namespace ForwardOptimal::Net
