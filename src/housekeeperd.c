/* housekeeperd - the daemon's entry point; everything else is in daemon.c. */
#include "autoconfig.h"

#include "daemon.h"

int main(int argc, char **argv)
{
	return hk_daemon_main(argc, argv);
}
