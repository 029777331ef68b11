/* housekeeperd - the daemon's entry point: one call into daemon.c (hk_daemon_main). */
#include "autoconfig.h"

#include "daemon.h"

int main(int argc, char **argv)
{
	return hk_daemon_main(argc, argv);
}
