/*
 * ctl_auth.c - who may do what through the control socket: a caller
 * changes (or runs) only its own registrations, names only a directory it
 * owns, never through a symlink; a non-root caller reads only its own
 * registrations' files (explain, audit, reports; SPEC 9).
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_int.h"
#include "log.h"
#include "proto.h"
#include "proto_records.h"
#include "scan.h"
#include "util.h"

/* Authorization ------------------------------------------------------------------- */

/* Check the directory of an API registration as its path names it now,
 * walked component by component without following any symlink. A symlink
 * anywhere on the path is refused for every caller, root included: the
 * engine would not follow it anyway, and a path that can be turned into a
 * symlink is how one registration passes for another's directory. A
 * non-root caller must own an existing directory; root may name one that
 * does not exist (yet). */
static int ctl_dir_check(const char *path, uid_t uid, char **cause)
{
	struct stat st;
	size_t stop = 0;
	int r = hk_path_stat_nofollow(path, &st, &stop);
	char *walked = hk_xstrndup(path, stop ? stop : strlen(path));

	if (r == -ELOOP) {
		r = HK_EDENIED;
		*cause = hk_xasprintf("directory: '%s' goes through the symlink '%s'; "
				      "register the real path", path, walked);
	} else if (uid == 0) {
		r = 0;
	} else if (r == -ENOTDIR || (r == 0 && !S_ISDIR(st.st_mode))) {
		r = -ENOTDIR;
		*cause = hk_xasprintf("directory: '%s' is not a directory", walked);
	} else if (r < 0) {
		*cause = hk_xasprintf("directory: '%s': %s", walked, strerror(-r));
	} else if (st.st_uid != uid) {
		r = HK_EDENIED;
		*cause = hk_xasprintf("directory: '%s' is owned by uid %u, not by the caller (uid %u)",
				      path, (unsigned)st.st_uid, (unsigned)uid);
	}
	free(walked);
	return r;
}

/* Fetch registration id and check that the caller may change it. Returns
 * the copy (caller frees) or NULL with the reply set. */
struct hk_registration *ctl_get_changeable(const struct hk_ctl_ops *ops, void *ctx,
					   const struct hk_ctl_request *req,
					   struct hk_ctl_reply *reply, const char *id, bool config_ok,
					   bool check_owner, const char *verb)
{
	struct hk_registration *reg = NULL;
	int r;

	if (!ops->get_registration) {
		hk_ctl_reply_set_error(reply, -ENOSYS, "%s: not implemented by this daemon", req->op);
		return NULL;
	}
	r = ops->get_registration(ctx, id, &reg);
	if (r < 0 || !reg) {
		if (r == HK_ENOTFOUND || !reg)
			hk_ctl_reply_set_error(reply, HK_ENOTFOUND,
					       "'%s' is neither the id nor the name of a registration", id);
		else
			hk_ctl_reply_set_error(reply, r, "%s: %s", id, hk_strerror(r));
		return NULL;
	}
	if (!config_ok && reg->source == HK_SOURCE_CONFIG) {
		hk_ctl_reply_set_error(reply, HK_ESOURCE,
				       "registration '%s' comes from %s:%u; edit that file and reload",
				       id, reg->source_file ? reg->source_file : "a configuration file",
				       reg->source_line);
		goto fail;
	}
	if (check_owner && req->peer.uid != 0 && reg->owner_uid != req->peer.uid) {
		if (reg->source == HK_SOURCE_CONFIG)
			hk_ctl_reply_set_error(reply, HK_EDENIED,
					       "registration '%s' comes from the configuration; "
					       "only root may %s", id, verb);
		else
			hk_ctl_reply_set_error(reply, HK_EDENIED,
					       "registration '%s' belongs to uid %u, not to the caller (uid %u)",
					       id, (unsigned)reg->owner_uid, (unsigned)req->peer.uid);
		goto fail;
	}
	return reg;
fail:
	hk_registration_free(reg);
	return NULL;
}

/* Checks shared by register and update on a filled-in registration. */
bool ctl_check_registration(const struct hk_ctl_request *req, struct hk_ctl_reply *reply,
				   const struct hk_registration *reg, unsigned set)
{
	char *cause = NULL;
	int r;

	if (req->peer.uid != 0 && (set & HK_PROTO_F_ALLOW_SYSDIR) && reg->allow_system_directory) {
		hk_ctl_reply_set_error(reply, HK_EDENIED,
				       "allow_system_directory: only root may set it");
		return false;
	}
	r = hk_registration_validate(reg, &cause);
	if (r < 0) {
		ctl_reply_op_error(reply, r, cause);
		return false;
	}
	if (set & HK_PROTO_F_DIRECTORY) {
		r = ctl_dir_check(reg->directory, req->peer.uid, &cause);
		if (r < 0) {
			ctl_reply_op_error(reply, r, cause);
			return false;
		}
	}
	return true;
}

/* Redaction of reads ------------------------------------------------------------- */

/* Is registration id the caller's own, for reads that show files (SPEC 9:
 * audit records, explain results, run reports)? Root's are everything; a
 * config registration is root's; an id no longer registered is nobody's
 * (its records may name files of a directory the caller cannot read).
 * seen caches the answers by id (a JSON object of booleans). */
bool ctl_peer_owns(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_peer *peer,
			  const char *id, json_t *seen)
{
	struct hk_registration *reg = NULL;
	const json_t *known;
	bool owned;

	if (peer->uid == 0)
		return true;
	if (!id)
		return false;
	known = json_object_get(seen, id);
	if (known)
		return json_is_true(known);
	owned = ops->get_registration && ops->get_registration(ctx, id, &reg) == 0 && reg &&
		reg->source == HK_SOURCE_API && reg->owner_uid == peer->uid;
	hk_registration_free(reg);
	json_object_set_new(seen, id, json_boolean(owned));
	return owned;
}

/* explain for a non-root caller: only its own registrations' results;
 * of the others only how many cover the path (which the list of
 * registrations tells anyone), not the file's size, age or fate. */
void ctl_redact_explain(const struct hk_ctl_ops *ops, void *ctx,
			       const struct hk_ctl_peer *peer, json_t *out)
{
	json_t *regs = json_object_get(out, "registrations");
	json_t *kept, *seen, *e;
	size_t i, others = 0;

	if (peer->uid == 0 || !json_is_array(regs))
		return;
	kept = json_array();
	seen = json_object();
	json_array_foreach(regs, i, e) {
		if (ctl_peer_owns(ops, ctx, peer, json_string_value(json_object_get(e, "id")), seen))
			json_array_append(kept, e);
		else
			others++;
	}
	json_object_set_new(out, "registrations", kept);
	if (others)
		json_object_set_new(out, "other_registrations", json_integer((json_int_t)others));
	json_decref(seen);
}

/* audit for a non-root caller: only the records of its own registrations,
 * filtered in the store's scan (struct hk_ctl_audit_query.visible), so a
 * page is filled with the caller's records however many of others lie in
 * between, within the scan's bound. */

bool ctl_redact_audit(const char *reg_id, void *arg)
{
	struct ctl_audit_vis *v = arg;

	return ctl_peer_owns(v->ops, v->ctx, v->peer, reg_id, v->seen);
}

