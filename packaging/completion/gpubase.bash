# bash completion for gpubase(1): subcommands, their options, plan files (*.yaml, *.yml), bundles,
# and --var NAME= with the variables of the plan on the command line.
# Installed as $(PREFIX)/share/bash-completion/completions/gpubase (make install).

_gpubase_builtin_vars="arch deb_arch arch_dir os_id os_version distro root plan_dir"

# the options each subcommand takes (agent/main.c's commands[] table)
_gpubase_opts() {
        local common="--root --verbose -v --help -h"
        case $1 in
        run) echo "$common --reboot= --dry-run --replan --var --bundle --image --keep-cache --json --quiet -q" ;;
        resume) echo "$common --reboot= --dry-run --replan --bundle --image --keep-cache --json --quiet -q" ;;
        status) echo "$common --json" ;;
        wait) echo "$common --timeout" ;;
        verify) echo "$common --json --plan --var --textfile --smoke" ;;
        watch) echo "$common --textfile" ;;
        plan) echo "$common --var" ;;
        reset) echo "$common --dry-run" ;;
        bundle) echo "$common --var --output -o --json" ;;
        report) echo "$common --output -o" ;;
        *) echo "$common --version" ;;
        esac
}

# the plan file named on the command line (the first *.yaml / *.yml operand, or --plan's value)
_gpubase_plan_in_line() {
        local i w
        for ((i = 1; i < ${#words[@]}; i++)); do
                w=${words[i]}
                [ "$i" = "$cword" ] && continue
                case $w in
                --plan=*) echo "${w#--plan=}"; return ;;
                --plan) echo "${words[i + 1]}"; return ;;
                *.yaml | *.yml) echo "$w"; return ;;
                esac
        done
}

_gpubase_plan_vars() {
        local plan
        plan=$(_gpubase_plan_in_line)
        [ -n "$plan" ] && [ -r "${plan/#\~/$HOME}" ] || return
        gpubase plan show "${plan/#\~/$HOME}" 2>/dev/null |
                awk -v b=" $_gpubase_builtin_vars " '/^vars:/ { v = 1; next } /^[a-z]/ { v = 0 } v && NF { if (index(b, " " $1 " ") == 0) print $1 "=" }'
}

_gpubase_files() { # GLOB-PATTERN (extglob): files matching it, and directories
        local IFS=$'\n' x
        COMPREPLY=()
        compopt -o filenames 2>/dev/null
        for x in $(compgen -f -X "!$1" -- "$cur") $(compgen -d -- "$cur"); do
                COMPREPLY+=("$x")
        done
}

_gpubase() {
        local cur prev words cword cmd="" sub="" i w nops=0
        if declare -F _init_completion >/dev/null; then
                # words/cword with "--reboot=exit" kept as one word
                _init_completion -n = || return
        else
                words=("${COMP_WORDS[@]}")
                cword=$COMP_CWORD
                cur=${COMP_WORDS[COMP_CWORD]}
                prev=${COMP_WORDS[COMP_CWORD - 1]}
        fi
        local commands="run resume status wait verify plan reset bundle report watch help"

        # the subcommand and its first operand, skipping options and their values
        for ((i = 1; i < cword; i++)); do
                w=${words[i]}
                case $w in
                --root | --plan | --var | --timeout | --bundle | --output | -o | --textfile) ((i++)) ;;
                -* | =) ;;
                *)
                        if [ -z "$cmd" ]; then cmd=$w; elif [ -z "$sub" ]; then sub=$w; fi
                        nops=$((nops + 1))
                        ;;
                esac
        done

        case $prev in
        --root)
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -d -- "$cur")
                return
                ;;
        --plan)
                _gpubase_files '@(*.yaml|*.yml)'
                return
                ;;
        --bundle)
                _gpubase_files '@(*.tar.zst|*.tzst|*.tar.gz|*.tgz|*.tar.xz|*.tar)'
                return
                ;;
        --output | -o)
                _gpubase_files '@(*.tar.zst|*.tar.gz|*.tgz|*.tar.xz|*.tar)'
                return
                ;;
        --textfile)
                _gpubase_files '*.prom'
                return
                ;;
        --timeout)
                return
                ;;
        --var)
                compopt -o nospace 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -W "$(_gpubase_plan_vars)" -- "$cur")
                return
                ;;
        esac

        case $cur in
        --reboot=*)
                mapfile -t COMPREPLY < <(compgen -W "now exit never" -- "${cur#--reboot=}")
                return
                ;;
        --var=*)
                compopt -o nospace 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -W "$(_gpubase_plan_vars)" -- "${cur#--var=}")
                return
                ;;
        -*)
                local opts
                opts=$(_gpubase_opts "$cmd")
                mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
                [[ ${COMPREPLY[*]} == *= ]] && compopt -o nospace 2>/dev/null
                return
                ;;
        esac

        if [ -z "$cmd" ]; then
                mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
                return
        fi
        case $cmd in
        run)
                [ "$nops" -eq 1 ] && _gpubase_files '@(*.yaml|*.yml)'
                ;;
        help)
                [ "$nops" -eq 1 ] && mapfile -t COMPREPLY < <(compgen -W "${commands% help}" -- "$cur")
                ;;
        plan)
                if [ "$nops" -eq 1 ]; then
                        mapfile -t COMPREPLY < <(compgen -W "check show" -- "$cur")
                elif [ "$nops" -eq 2 ]; then
                        _gpubase_files '@(*.yaml|*.yml)'
                fi
                ;;
        bundle)
                if [ "$nops" -eq 1 ]; then
                        mapfile -t COMPREPLY < <(compgen -W "create inspect" -- "$cur")
                elif [ "$nops" -eq 2 ] && [ "$sub" = create ]; then
                        _gpubase_files '@(*.yaml|*.yml)'
                elif [ "$nops" -eq 2 ] && [ "$sub" = inspect ]; then
                        _gpubase_files '@(*.tar.zst|*.tzst|*.tar.gz|*.tgz|*.tar.xz|*.tar)'
                fi
                ;;
        watch)
                [ "$nops" -eq 1 ] && mapfile -t COMPREPLY < <(compgen -W "enable disable status check" -- "$cur")
                ;;
        esac
}

complete -F _gpubase gpubase
