#!/bin/bash
# packer-steps.sh TEMPLATE.pkr.hcl OUTDIR — the provisioners of examples/packer's template, in the
# order of its build block, as the e2e guest replays them (tests/e2e/guest/e2e-scenario.sh, packer
# scenario). Read at test time from the template itself, so that the VM runs what Packer runs.
#
# OUTDIR/steps, one provisioner a line, fields separated by a tab:
#   inline    COMMAND                     (shell provisioner with inline = [...]; one line per command)
#   upload    SOURCE-EXPRESSION  DEST     (file provisioner, to the machine)
#   script    FILE  VALID-EXIT-CODES  EXPECT-DISCONNECT(0|1)   (shell provisioner with a script)
#   download  SOURCE  DEST-EXPRESSION     (file provisioner, direction = "download")
# OUTDIR/env: NAME=VALUE of local.env, the environment every script gets, with the variables'
# defaults (plan_vars is left to the harness: it stands for -var-file's list).
#
# Anything this reader does not know (another provisioner type or attribute, another
# execute_command, a multi-line list) fails: the harness must then learn it, not skip it.
set -euo pipefail
export LC_ALL=C
die() { echo "packer-steps.sh: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: packer-steps.sh TEMPLATE OUTDIR"
T=$1 OUT=$2
[ -f "$T" ] || die "no template $T"
mkdir -p "$OUT"

awk -v out="$OUT/steps" -v envout="$OUT/env" '
function fail(m) { print "packer-steps.sh: " FILENAME ":" NR ": " m > "/dev/stderr"; bad = 1; exit 1 }
function unq(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); if (s ~ /^".*"$/) s = substr(s, 2, length(s) - 2); return s }
function flush(   i, n, parts) {
	if (ptype == "") return
	if (ptype == "shell") {
		if (a["execute_command"] != "" && a["execute_command"] != "local.sudo") fail("execute_command " a["execute_command"])
		if (a["environment_vars"] != "" && a["environment_vars"] != "local.env") fail("environment_vars " a["environment_vars"])
		if (a["inline"] != "") {
			n = split(a["inline"], parts, SUBSEP)
			for (i = 1; i <= n; i++) print "inline\t" parts[i] > out
		} else if (a["script"] != "") {
			s = a["script"]
			if (s !~ /^\$\{path\.root\}\/scripts\/[0-9A-Za-z._-]+$/) fail("script " s)
			sub(/^.*\//, "", s)
			codes = a["valid_exit_codes"] == "" ? "0" : a["valid_exit_codes"]
			print "script\t" s "\t" codes "\t" (a["expect_disconnect"] == "true" ? 1 : 0) > out
		} else fail("a shell provisioner without inline or script")
	} else if (ptype == "file") {
		if (a["direction"] == "download") print "download\t" a["source"] "\t" a["destination"] > out
		else if (a["direction"] == "" || a["direction"] == "upload") print "upload\t" a["source"] "\t" a["destination"] > out
		else fail("file direction " a["direction"])
	} else fail("provisioner type " ptype)
	ptype = ""
	delete a
}
# variables and their defaults
/^variable "[a-z_]+" \{/ { v = $2; gsub(/"/, "", v); invar = 1; next }
invar && /^}/ { invar = 0; next }
invar && /^[ \t]+default[ \t]+=/ { d = $0; sub(/^[^=]*=[ \t]*/, "", d); def[v] = unq(d); next }
# locals: env = [ "NAME=${...}", ... ]
/^locals \{/ { inloc = 1; next }
inloc && /^}/ { inloc = 0; next }
inloc && /^[ \t]+env[ \t]+=[ \t]*\[/ { inenv = 1; next }
inenv && /^[ \t]*\]/ { inenv = 0; next }
inenv { e = $0; sub(/,[ \t]*$/, "", e); envl[++nenv] = unq(e); next }
/^build \{/ { inbuild = 1; next }
inbuild && /^}/ { flush(); inbuild = 0; next }
inbuild && /^  provisioner "[a-z-]+" \{/ { flush(); ptype = $2; gsub(/"/, "", ptype); next }
inbuild && ptype != "" && /^  }/ { flush(); next }
inbuild && ptype != "" && /^[ \t]+[a-z_]+[ \t]+=/ {
	k = $1; val = $0; sub(/^[^=]*=[ \t]*/, "", val); sub(/[ \t]+#.*$/, "", val)
	if (k == "inline") {
		if (val !~ /^\[.*\]$/) fail("inline must be a one-line list")
		val = substr(val, 2, length(val) - 2)
		# the commands: "..." separated by commas (no quotes or commas inside)
		n = split(val, parts, /",[ \t]*"/); s = ""
		for (i = 1; i <= n; i++) { c = parts[i]; gsub(/^[ \t]*"|"[ \t]*$/, "", c); s = s (i > 1 ? SUBSEP : "") c }
		a[k] = s
	} else if (k == "valid_exit_codes") {
		gsub(/[\[\] \t]/, "", val); a[k] = val
	} else if (k ~ /^(script|source|destination|direction|execute_command|environment_vars|expect_disconnect|skip_clean|pause_before)$/) {
		a[k] = unq(val)
	} else fail("provisioner attribute " k)
	next
}
END {
	if (bad) exit 1
	if (nenv == 0) { print "packer-steps.sh: no local.env" > "/dev/stderr"; exit 1 }
	for (i = 1; i <= nenv; i++) {
		e = envl[i]; name = e; sub(/=.*/, "", name); val = e; sub(/^[^=]*=/, "", val)
		if (val ~ /^\$\{var\.[a-z_]+\}$/) { vn = substr(val, 7, length(val) - 7); val = def[vn] }
		else if (val != "${local.gpu_vars}") { print "packer-steps.sh: env " e ": not a variable" > "/dev/stderr"; exit 1 }
		print name "=" val > envout
	}
}' "$T" || die "cannot read $T"
[ -s "$OUT/steps" ] || die "no provisioners in $T"
