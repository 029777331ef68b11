#!/bin/sh
# The logrotate recipe (contrib/examples/logrotate.conf) on a real daemon:
# numbered rotations (app.log.1, app.log.2.gz ...) and dateext ones
# (app.log-20261101.gz ...) each keep their newest 10 and nothing past
# 30 days; the live app.log stays however old it is; a new rotation
# pushes out the oldest of its own kind only. The numbered pattern alone
# (app.log.*) does not match a single dateext name: the reason for the
# second registration.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
D="$T/log"
mkdir -p "$D"
python3 - "$D" <<'EOP'
import os, sys, time
d = sys.argv[1]
now = time.time()
def put(name, age_days):
    p = os.path.join(d, name)
    open(p, "w").write(name + "\n")
    os.utime(p, (now - age_days * 86400, now - age_days * 86400))
put("app.log", 45)                      # live, written to long ago
put("other.log", 45)
for i in range(1, 15):
    put("app.log.%d%s" % (i, "" if i == 1 else ".gz"), i)
put("app.log.15.gz", 40)
put("app.log.16.gz", 41)
for i in range(1, 15):
    put("app.log-202611%02d%s" % (15 - i, "" if i == 1 else ".gz"), i)
put("app.log-20261020.gz", 40)
EOP
numbered() { (cd "$D" && ls -1 | grep '^app\.log\.' | LC_ALL=C sort); }
dateext() { (cd "$D" && ls -1 | grep '^app\.log-' | LC_ALL=C sort); }
# the numbered pattern matches no dateext name
python3 -c "
import fnmatch, os, sys
names = os.listdir(sys.argv[1])
hit = [n for n in names if n.startswith('app.log-') and fnmatch.fnmatchcase(n, 'app.log.*')]
sys.exit(1 if hit else 0)
" "$D" || fail "app.log.* matches a dateext name"
sed "s|^directory .*|directory   = $D|" "$top_srcdir/contrib/examples/logrotate.conf" >"$T/hk.conf"
printf '[scheduler]\nhousekeeper_schedule = 0 3 1 1 *\n' >>"$T/hk.conf"
[ "$(grep -c "^directory *= $D\$" "$T/hk.conf")" = 2 ] || fail "recipe not adapted"
start_daemon
wait_until sh -c '[ "$(ls "$1" | grep -c "^app\.log\.")" -eq 10 ] && [ "$(ls "$1" | grep -c "^app\.log-")" -eq 10 ]' - "$D" ||
	fail "not trimmed to 10 + 10: $(ls "$D" | tr '\n' ' ')"
sleep 1
want_num=$(for i in 1 2 3 4 5 6 7 8 9 10; do [ $i = 1 ] && echo app.log.1 || echo "app.log.$i.gz"; done | LC_ALL=C sort)
[ "$(numbered)" = "$want_num" ] || fail "numbered kept: $(numbered | tr '\n' ' ')"
want_date=$(for i in 1 2 3 4 5 6 7 8 9 10; do printf 'app.log-202611%02d%s\n' $((15 - i)) "$([ $i = 1 ] || echo .gz)"; done | LC_ALL=C sort)
[ "$(dateext)" = "$want_date" ] || fail "dateext kept: $(dateext | tr '\n' ' ')"
[ -e "$D/app.log" ] && [ -e "$D/other.log" ] || fail "the live log (or another) was deleted"
# logrotate's next run: a new dateext file; the oldest dateext one goes,
# no numbered one
echo new >"$D/app.log-20261115"
wait_until sh -c '! test -e "$1/app.log-20261105.gz"' - "$D" || fail "the oldest dateext file stayed: $(dateext | tr '\n' ' ')"
[ "$(numbered)" = "$want_num" ] || fail "a dateext rotation deleted a numbered file: $(numbered | tr '\n' ' ')"
[ "$(dateext | wc -l)" = 10 ] || fail "dateext count: $(dateext | tr '\n' ' ')"
grep -q 'app-rotated-dateext: deleted' "$HK_LOG" || fail "no summary line names the dateext registration"
exit 0
