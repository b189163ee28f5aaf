#!/usr/bin/env bash
# Confinement under --root: a link planted in the root means what it would mean after chroot, so
# nothing gpubase writes or removes lands outside the root. Each test plants a link (absolute,
# relative, dangling, or a directory gpubase owns: the state directory, the lock's, the keyrings',
# the bundle's) that points at a directory beside the root with known contents, runs the real
# binary, and checks that directory unchanged and nothing new beside the root.
#   GPUBASE=/abs/gpubase tests/integration/confine.sh [TEST-NAME-REGEX]
# One line per test (PASS/FAIL name), then a summary; exits non-zero if any test failed.
# shellcheck disable=SC2031,SC2119
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_tools confine.sh gpg

# ---- helpers ----

# outside_init: $O, a directory beside the root ($W/outside) with known contents, and a record of
# it and of what lies beside the root.
outside_init() {
        O=$W/outside
        mkdir -p "$O/sub"
        echo sentinel >"$O/keep.txt"
        echo inner >"$O/sub/inner.txt"
        snapshot "$O" >"$T/outside.before"
        ls -A "$W" >"$T/beside.before"
}

# outside_unchanged: $O exactly as outside_init left it (every path, size, mode and mtime: a file
# created or removed changes its directory's mtime), and nothing new beside the root.
outside_unchanged() {
        snapshot "$O" >"$T/outside.after"
        diff -u "$T/outside.before" "$T/outside.after" >&2 || fail "the directory outside the root changed"
        ls -A "$W" >"$T/beside.after"
        diff -u "$T/beside.before" "$T/beside.after" >&2 || fail "something was created beside the root"
}

# file_plan NAME PATH [VARS-LINE]: a plan with one file step writing "confined" to PATH.
file_plan() {
        cat >"$T/$1.yaml" <<EOF
version: 1
name: confine-$1
${3:-}
steps:
  - id: conf
    kind: file
    path: $2
    content: "confined\n"
EOF
        echo "$T/$1.yaml"
}

# ---- a file step's parent directory ----

t_file_parent_absolute_link() {
        outside_init
        ln -s "$O" "$R/etc/adv"
        expect_rc 0 gb run "$(file_plan abs /etc/adv/app.conf)"
        outside_unchanged
        # /etc/adv is $O as the root sees it: $R$O
        file_is "$R$O/app.conf" confined
}

t_file_parent_relative_link() {
        outside_init
        # more ".." than the root is deep: they stop at the root
        ln -s "../../../../../../../../../../..$O" "$R/etc/rel"
        expect_rc 0 gb run "$(file_plan rel /etc/rel/app.conf)"
        outside_unchanged
        file_is "$R$O/app.conf" confined
}

t_dotdot_through_var() {
        outside_init
        local plan
        # shellcheck disable=SC2016 # ${sub} is the plan's, expanded by gpubase
        plan=$(file_plan var '/etc/${sub}/app.conf' 'vars: {sub: x}')
        expect_rc 65 gb run "$plan" --var "sub=../../../../../../../..$O"
        err_has "without '..'"
        outside_unchanged
        absent "$R/etc/x"
        expect_rc 0 gb run "$plan"
        file_is "$R/etc/x/app.conf" confined
}

t_dangling_final_link() {
        outside_init
        ln -s "$O/created.conf" "$R/etc/dangling.conf"
        expect_rc 0 gb run "$(file_plan dangling /etc/dangling.conf)"
        outside_unchanged
        absent "$O/created.conf"
        # followed as after chroot: the file the link names inside the root
        file_is "$R$O/created.conf" confined
}

# ---- the directories gpubase owns ----

t_state_dir_link() {
        outside_init
        mkdir -p "$R/var/lib"
        ln -s "$O" "$R/var/lib/gpubase"
        expect_rc 0 gb run "$(file_plan state /etc/app.conf)"
        outside_unchanged
        [ -f "$R$O/state.json" ] || fail "the state is not where the link leads inside the root"
        eq "$(stat -c %a "$R$O")" 700 "the state directory's mode"
        eq "$(sj .run_state)" "done" "run_state"
}

t_lock_dir_link() {
        outside_init
        ln -s "$O" "$R/run"
        expect_rc 0 gb run "$(file_plan lock /etc/app.conf)"
        outside_unchanged
        [ -f "$R$O/gpubase.lock" ] || fail "the lock is not where the link leads inside the root"
        eq "$(sj .run_state)" "done" "run_state"
}

t_actions_log_link() {
        outside_init
        mkdir -p "$R/var/lib/gpubase"
        chmod 700 "$R/var/lib/gpubase"
        # a link in place of gpubase's own log is refused, not followed
        ln -s "$O/keep.txt" "$R/$ACTIONS_REL"
        cat >"$T/reboot.yaml" <<'EOF'
version: 1
name: confine-reboot
steps:
  - id: conf
    kind: file
    path: /etc/app.conf
    content: "changed\n"
  - id: reboot
    kind: reboot
EOF
        expect_rc 1 gb run "$T/reboot.yaml" --reboot=now
        err_has "$R/$ACTIONS_REL"
        err_has "remove the link"
        outside_unchanged
        [ -L "$R/$ACTIONS_REL" ] || fail "the link in the log's place was replaced"
}

t_keyring_dir_link() {
        outside_init
        export GNUPGHOME=$T/gnupg
        mkdir -m 700 "$GNUPGHOME"
        gpg --batch --quiet --passphrase '' --quick-gen-key "confine test <confine@example.invalid>" ed25519 sign never
        local fpr
        fpr=$(gpg --batch --with-colons --list-keys | awk -F: '$1 == "fpr" { print $10; exit }')
        mkdir -p "$R/keys" "$R/usr/share"
        gpg --batch --export "$fpr" >"$R/keys/repo.gpg"
        ln -s "$O" "$R/usr/share/keyrings"
        cat >"$T/keyring.yaml" <<EOF
version: 1
name: confine-keyring
steps:
  - id: repo
    kind: apt-source
    key_file: /keys/repo.gpg
    fingerprint: $fpr
    uri: file:///srv/repo
EOF
        expect_rc 0 gb run "$T/keyring.yaml"
        outside_unchanged
        [ -s "$R$O/repo-keyring.gpg" ] || fail "the keyring is not where the link leads inside the root"
        contains "$R/etc/apt/sources.list.d/repo.sources" "Signed-By: /usr/share/keyrings/repo-keyring.gpg"
}

t_created_directory_modes() {
        outside_init
        umask 022
        expect_rc 0 gb run "$(file_plan modes /etc/new/dir/app.conf)"
        # the directories gpubase creates in a fresh root: 0755, but the state directory 0700
        eq "$(stat -c %a "$R/var" "$R/var/lib" "$R/run" "$R/etc/new" "$R/etc/new/dir" | tr '\n' ' ')" \
                "755 755 755 755 755 " "modes of the parents gpubase created"
        eq "$(stat -c %a "$R/var/lib/gpubase")" 700 "the state directory's mode"
        outside_unchanged
}

# ---- the extracted bundle ----

# make_bundle: $T/b.tar.zst, a bundle of a one-file plan, made in a root of its own.
make_bundle() {
        mkdir -p "$T/mkroot"
        fill_root "$T/mkroot"
        file_plan bundle /etc/from-bundle.conf >/dev/null
        expect_rc 0 "$GPUBASE" --root "$T/mkroot" bundle create "$T/bundle.yaml" -o "$T/b.tar.zst"
}

t_bundle_dir_link() {
        make_bundle
        outside_init
        mkdir -p "$R/var/lib/gpubase"
        chmod 700 "$R/var/lib/gpubase"
        ln -s "$O" "$R/var/lib/gpubase/bundle"
        expect_rc 0 gb run --bundle "$T/b.tar.zst"
        outside_unchanged
        # the link was replaced by the extracted bundle, never followed
        if [ -L "$R/var/lib/gpubase/bundle" ] || [ ! -d "$R/var/lib/gpubase/bundle" ]; then
                fail "the bundle did not replace the link"
        fi
        [ -f "$R/var/lib/gpubase/bundle/manifest.json" ] || fail "the bundle was not extracted"
        file_is "$R/etc/from-bundle.conf" confined
}

t_bundle_dir_holds_link() {
        make_bundle
        outside_init
        mkdir -p "$R/var/lib/gpubase/bundle"
        chmod 700 "$R/var/lib/gpubase"
        # an earlier bundle whose tree holds links out: removed as links
        ln -s "$O" "$R/var/lib/gpubase/bundle/repo"
        ln -s "$O/keep.txt" "$R/var/lib/gpubase/bundle/keys"
        expect_rc 0 gb run --bundle "$T/b.tar.zst"
        outside_unchanged
        absent "$R/var/lib/gpubase/bundle/repo"
        absent "$R/var/lib/gpubase/bundle/keys"
}

ALL_TESTS=(
        file_parent_absolute_link
        file_parent_relative_link
        dotdot_through_var
        dangling_final_link
        state_dir_link
        lock_dir_link
        actions_log_link
        keyring_dir_link
        created_directory_modes
        bundle_dir_link
        bundle_dir_holds_link
)

run_listed "${1:-}"
