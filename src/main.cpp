// The process entry point. POCO_SERVER_MAIN would call run() directly; launch() first
// prepares the command line and the signal mask (see ForwardOptimalApp::launch).
#include "app/ForwardOptimalApp.h"

int main(int argc, char** argv)
{
	return ForwardOptimal::App::ForwardOptimalApp::launch(argc, argv);
}
