# bash completion for fanguardctl(8)
# shellcheck shell=bash

_fanguardctl()
{
	local cur prev verb i
	local verbs='status stats metrics mounts reload scan top quarantine'
	local opts='--socket -s --json --infected -i --iterations -n --once --delay -d --dir --help -h --version'
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	case $prev in
	--socket | -s)
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	--dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		return 0
		;;
	--iterations | -n | --delay | -d)
		COMPREPLY=()
		return 0
		;;
	esac
	verb=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--socket | -s | --iterations | -n | --delay | -d | --dir) ((i++)) ;;
		-*) ;;
		*)
			verb=${COMP_WORDS[i]}
			break
			;;
		esac
	done
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	elif [[ -z $verb ]]; then
		COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
	elif [[ $verb == scan ]]; then
		COMPREPLY=($(compgen -f -- "$cur"))
	elif [[ $verb == quarantine && ${COMP_WORDS[COMP_CWORD - 1]} == quarantine ]]; then
		COMPREPLY=($(compgen -W "list restore delete" -- "$cur"))
	else
		COMPREPLY=()
	fi
}
complete -F _fanguardctl fanguardctl
