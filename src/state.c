/*
 * state.c - start-up and bookkeeping around the store for the daemon.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "reap.h"
#include "state.h"
#include "util.h"

static void state_log_error(const char *state_dir, int r, const char *cause)
{
	if (r == HK_ESTORE)
		log_errx("store", "%s; start once with --reset-state to move it aside and rebuild "
			 "from the configuration and a rescan (API registrations are lost)",
			 cause ? cause : state_dir);
	else if (r < 0)
		log_errx("store", "%s", cause ? cause : hk_strerror(r));
}

int hk_state_open(const char *state_dir, bool reset, struct hk_store **out)
{
	char *cause = NULL;
	int64_t now = hk_time_now_ns();
	int r = hk_store_open(state_dir, NULL, now, out, &cause);
	if (r == HK_ESTORE && reset) {
		char *moved = NULL;
		free(cause);
		cause = NULL;
		r = hk_store_move_aside(state_dir, now / HK_NSEC_PER_SEC, &moved, &cause);
		if (r == 0) {
			log_warnx("store", "%s: unusable store moved aside to %s; starting fresh",
				  state_dir, moved);
			free(moved);
			r = hk_store_open(state_dir, NULL, now, out, &cause);
		}
	}
	state_log_error(state_dir, r, cause);
	free(cause);
	return r;
}

int hk_state_open_read(const char *state_dir, struct hk_store **out)
{
	char *cause = NULL;
	struct hk_store_options opts = { .read_only = true };
	int r = hk_store_open(state_dir, &opts, hk_time_now_ns(), out, &cause);
	if (r == -ENOENT)
		log_debug("store", "%s", cause ? cause : state_dir);
	else
		state_log_error(state_dir, r, cause);
	free(cause);
	return r;
}

struct state_settle {
	struct hk_store *store;
	bool settle;        /* false: leftovers only, nothing written */
	size_t deleted;
	size_t dropped;
	struct hk_reap_leftover *leftovers;
	size_t n_leftovers;
};

/* Is the file of intent rec still under the private name the intent
 * recorded, with the inode decided on? Then the crash came between the
 * rename and the unlink, and *aside_path is that name's path. */
static bool state_leftover_there(const struct hk_store_audit *rec, char **aside_path)
{
	const char *slash = memrchr(rec->path, '/', rec->path_len);
	if (!rec->aside || !rec->ino || !slash)
		return false;
	char *path = hk_xasprintf("%.*s/%s", (int)(slash - rec->path), rec->path, rec->aside);
	struct stat sb;
	if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_ino == rec->ino) {
		*aside_path = path;
		return true;
	}
	free(path);
	return false;
}

static int state_settle_cb(const struct hk_store_audit *rec, void *arg)
{
	struct state_settle *st = arg;
	/* existence checks only: nothing is deleted here */
	char *aside = NULL;
	if (state_leftover_there(rec, &aside)) {
		/* the intent stays open until the engine finishes the deletion
		 * (never in a dry run or read-only: then at a later start) */
		st->leftovers = hk_xreallocarray(st->leftovers, st->n_leftovers + 1,
						 sizeof(*st->leftovers));
		st->leftovers[st->n_leftovers++] = (struct hk_reap_leftover){
			rec->id, aside, rec->ino, rec->size, rec->mtime_ns
		};
		return 0;
	}
	if (!st->settle)
		return 0;
	char *path = hk_xstrndup(rec->path, rec->path_len);
	struct stat sb;
	if (lstat(path, &sb) < 0 && errno == ENOENT) {
		hk_store_audit_complete(st->store, rec->id, "deleted", 0);
		st->deleted++;
	} else {
		hk_store_audit_drop(st->store, rec->id);
		st->dropped++;
	}
	free(path);
	return 0;
}

void hk_state_settle_intents(struct hk_store *store, struct hk_reap_leftover **leftovers,
			     size_t *n_leftovers)
{
	struct state_settle st = { store, true, 0, 0, NULL, 0 };
	hk_store_audit_open_intents(store, state_settle_cb, &st);
	if (st.deleted + st.dropped) {
		log_notice("store", "settled %zu audit intents left by a crash: %zu deleted, %zu "
			   "not deleted", st.deleted + st.dropped, st.deleted, st.dropped);
		hk_store_flush(store);
	}
	if (st.n_leftovers)
		log_notice("store", "%zu deletion%s interrupted by a crash after the rename: "
			   "finished by the next scan", st.n_leftovers,
			   st.n_leftovers == 1 ? "" : "s");
	*leftovers = st.leftovers;
	*n_leftovers = st.n_leftovers;
}

void hk_state_find_leftovers(struct hk_store *store, struct hk_reap_leftover **leftovers,
			     size_t *n_leftovers)
{
	struct state_settle st = { store, false, 0, 0, NULL, 0 };
	hk_store_audit_open_intents(store, state_settle_cb, &st);
	*leftovers = st.leftovers;
	*n_leftovers = st.n_leftovers;
}

void hk_state_record_job(struct hk_store *store, const struct hk_job_info *job)
{
	struct hk_store_job rec = {
		.id = job->id,
		.kind = job->filter ? "registration" : "sweep",
		.trigger = job->trigger,
		.reg_id = job->filter,
		.start_ns = job->started_ns,
		.end_ns = job->finished_ns,
		.outcome = job->outcome,
		.scanned = job->scanned,
		.deleted = job->deleted,
		.bytes = job->bytes,
		.errors = job->errors,
		.dry_run = job->dry_run,
	};
	hk_store_job_put(store, &rec);
}
