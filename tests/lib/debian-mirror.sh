#!/bin/bash
# debian-mirror.sh [--uri | --sources | --list-prefix]: the Debian archive this machine's apt sources
# name, for tests and CI that need Debian's packages (users and CI machines have mirrors of their own,
# so none is written into the tests). Read through apt itself (`apt-get indextargets`), so one-line
# and deb822 sources, options and signed-by are all understood as apt understands them.
#   --uri          (default) the archive's URI, without a trailing slash, e.g. http://HOST/debian
#   --sources      one "deb URI SUITE COMPONENT..." line per Debian suite the machine uses (this
#                  release, -updates, -security), as mmdebstrap takes them
#   --list-prefix  the prefix apt gives this archive's list files in /var/lib/apt/lists
#                  (HOST_PATH_dists_), as apt derives it from the URI
# Exits 1, saying so, when the machine's sources name no Debian archive for its release.
set -euo pipefail
mode=${1:---uri}
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || { echo "debian-mirror.sh: /etc/os-release has no VERSION_CODENAME" >&2; exit 1; }

# "URI RELEASE COMPONENT" for every Packages index the sources describe (binary ones only)
# shellcheck disable=SC2016 # apt-get's format
targets=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT) $(IDENTIFIER)' 2>/dev/null |
        awk '$4 == "Packages" { print $1, $2, $3 }' | sort -u)
main=$(awk -v c="$codename" '$2 == c && $3 == "main" { print $1; exit }' <<<"$targets")
[ -n "$main" ] || {
        echo "debian-mirror.sh: the apt sources of this machine name no Debian archive with $codename main" >&2
        exit 1
}
main=${main%/}
case $mode in
--uri) echo "$main" ;;
--sources)
        # every suite of this release (codename, -updates, -security), from whichever archive serves it
        awk -v c="$codename" '$2 == c || index($2, c "-") == 1 { sub("/$", "", $1); k = $1 " " $2; if (!(k in comps)) order[n++] = k; comps[k] = comps[k] " " $3 }
		END { for (i = 0; i < n; i++) print "deb " order[i] comps[order[i]] }' <<<"$targets"
        ;;
--list-prefix)
        p=${main#*://}
        echo "${p//\//_}_dists_"
        ;;
*) echo "usage: debian-mirror.sh [--uri | --sources | --list-prefix]" >&2; exit 64 ;;
esac
