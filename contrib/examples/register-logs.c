/*
 * register-logs.c - how a program registers its log directory with
 * housekeeper at start, like the seed's setup_module / TraceLogger
 * examples: trace_* files, kept 7 days and at most 100 of them.
 *
 * Registering is idempotent (same uid, directory and pattern = same id), so a
 * program simply does this at every start. When the daemon is absent the
 * program carries on: cleanup is a convenience, not a dependency.
 *
 *   cc register-logs.c $(pkg-config --cflags --libs housekeeper)
 *   ./register-logs [LOG_DIRECTORY]
 */
#include <stdio.h>
#include <stdlib.h>

#include <housekeeper.h>

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/var/log/tracelogger";
	struct hk_cleanup_spec spec = HK_CLEANUP_SPEC_INIT;
	struct hk_client *client = NULL;
	char *id = NULL;
	int r;

	/* NULL: $HOUSEKEEPER_SOCKET, else the default socket */
	r = hk_connect(NULL, &client);
	if (r < 0) {
		fprintf(stderr, "register-logs: scheduler not available (%s); "
				"logs in %s are not cleaned up\n", hk_strerror(r), dir);
		return 0;
	}
	spec.directory = dir;
	spec.pattern = "trace_*";
	spec.retention = 7 * 24 * 3600;   /* seconds */
	spec.has_retention = true;
	spec.max_files = 100;
	spec.has_max_files = true;
	spec.description = "TraceLogger trace files";
	r = hk_register_cleanup(client, &spec, &id);
	if (r < 0) {
		char *msg = hk_client_last_error(client);
		fprintf(stderr, "register-logs: cannot register %s: %s\n", dir, msg ? msg : hk_strerror(r));
		free(msg);
		hk_disconnect(client);
		return r == HK_ENODAEMON ? 0 : 1;
	}
	printf("register-logs: %s registered for cleanup as %s\n", dir, id);
	free(id);
	hk_disconnect(client);
	return 0;
}
