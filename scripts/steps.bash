# Steps of scripts/setup and scripts/node-tools, sourced by both: each step
# prints one line on stderr and keeps its output (compiler and linker
# warnings, apt's and go's chatter) in a log, which is shown, its last
# lines, only when the step fails.
#
# Set steps_prefix (the script's name) and steps_log (the log file) first.

# step DESC CMD [ARGS...] runs CMD, a command or a function, with set -e in
# force inside it, and its stdout and stderr appended to $steps_log. It
# prints "PREFIX: DESC ... ok"; if CMD fails, "failed" and the log's last
# lines instead, and exits with CMD's status.
step() { _step "" "$@"; }

# step_show DESC CMD [ARGS...] is step, but prints the last line of CMD's
# stdout (a path) instead of "ok".
step_show() { _step show "$@"; }

_step() {
	local show=$1 desc=$2 out rc
	shift 2
	printf '%s: %s ... ' "$steps_prefix" "$desc" >&2
	echo "== $steps_prefix: $desc" >>"$steps_log"
	out=$(mktemp)
	# A function in a condition (cmd || ...) runs without set -e, so the
	# status is taken with set -e off, and the subshell turns it on again.
	set +e
	if [ -n "$show" ]; then
		(set -e; "$@") >"$out" 2>>"$steps_log"
	else
		(set -e; "$@") >>"$steps_log" 2>&1
	fi
	rc=$?
	set -e
	cat "$out" >>"$steps_log"
	if ((rc)); then
		rm -f "$out"
		echo "failed (exit $rc); the last lines of $steps_log:" >&2
		tail -n 30 "$steps_log" | sed 's/^/    /' >&2
		exit "$rc"
	fi
	if [ -n "$show" ]; then
		tail -n 1 "$out" >&2
	else
		echo ok >&2
	fi
	rm -f "$out"
}
