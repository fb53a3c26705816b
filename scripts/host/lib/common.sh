# shellcheck shell=bash
# Common helpers for scripts/host/*.sh. Source it; it defines functions only.
#
# Output contract (one line each, on stdout unless noted; `invoke host.setup` parses it):
#   + CMD          a command that changes the system (printed, then run; in dry-run only printed)
#   ok: TEXT       already in the wanted state: nothing to do
#   skip: TEXT     this step cannot apply on this host, and why
#   info: TEXT     a fact about the host
#   warn: TEXT     a soft problem; the step goes on
#   reboot: TEXT   a reboot is needed before the next steps can work
#   check: CMD     (verify, dry-run) a read-only check that would run
#   ERROR: TEXT    (stderr) a refusal or failure; the script exits 1
#
# Functions:
#   command_exists NAME     true when NAME is on PATH
#   is_dry_run              true when --dry-run was given (DLENV_DRY_RUN=1)
#   die TEXT                "ERROR: TEXT" on stderr, exit 1
#   warn/info/ok/skip/reboot_needed TEXT   print one line of the contract above
#   current_uid             effective uid (`id -u`)
#   require_privileges      refuse unless root or sudo is available
#   sh_c CMD                run CMD (a shell command line) as root: prints "+ CMD", then runs it
#                           with sudo when not root; in dry-run only prints. A failure prints
#                           "ERROR: command failed (exit N): CMD" and exits N.
#   host_path PATH          PATH under the fake root $DLENV_ROOT (empty: the real root)
#   write_file PATH MODE    write stdin to PATH (as root, under $DLENV_ROOT) unless identical
#   ensure_dir PATH MODE    create directory PATH as root unless present
#   remove_file PATH        delete PATH as root if present
#   move_file SRC DEST      rename SRC to DEST as root
#   install_file SRC DEST MODE   copy SRC to DEST with MODE as root
#   parse_common_args ARGS  handle --dry-run and -h/--help; leaves the rest in REST_ARGS
#   user_c CMD              like sh_c, but as the invoking user (no sudo)

command_exists() {
	command -v "$1" >/dev/null 2>&1
}

is_dry_run() {
	[ "${DLENV_DRY_RUN:-0}" = 1 ]
}

die() {
	printf 'ERROR: %s\n' "$*" >&2
	exit 1
}

warn() { printf 'warn: %s\n' "$*"; }
info() { printf 'info: %s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
skip() { printf 'skip: %s\n' "$*"; }
reboot_needed() { printf 'reboot: %s\n' "$*"; }

current_uid() {
	id -u
}

host_path() {
	printf '%s%s' "${DLENV_ROOT:-}" "$1"
}

require_privileges() {
	if [ "$(current_uid)" -ne 0 ] && ! command_exists sudo; then
		die "this step needs root and sudo is not installed: run it as root (su -c '$0 ...') or install sudo"
	fi
}

_as_root() {
	if [ "$(current_uid)" -eq 0 ]; then
		"$@"
	elif command_exists sudo; then
		sudo "$@"
	else
		die "this step needs root and sudo is not installed: run it as root or install sudo"
	fi
}

sh_c() {
	printf '+ %s\n' "$*"
	is_dry_run && return 0
	local status=0
	_as_root sh -c "$*" || status=$?
	if [ "$status" -ne 0 ]; then
		printf 'ERROR: command failed (exit %s): %s\n' "$status" "$*" >&2
		exit "$status"
	fi
}

_print_heredoc() {
	printf '+ %s <<'"'"'EOF'"'"'\n%s\nEOF\n' "$1" "$2"
}

write_file() {
	local path=$1 mode=$2 content target
	content=$(cat)
	target=$(host_path "$path")
	if [ -f "$target" ] && [ "$(cat "$target")" = "$content" ]; then
		ok "$path is up to date"
		return 0
	fi
	ensure_dir "${path%/*}" 0755
	_print_heredoc "install -m $mode /dev/stdin $path" "$content"
	is_dry_run && return 0
	printf '%s\n' "$content" | _as_root install -m "$mode" /dev/stdin "$target" ||
		die "could not write $path"
}

ensure_dir() {
	local path=$1 mode=$2
	[ -d "$(host_path "$path")" ] && return 0
	printf '+ install -m %s -d %s\n' "$mode" "$path"
	is_dry_run && return 0
	_as_root install -m "$mode" -d "$(host_path "$path")" || die "could not create $path"
}

remove_file() {
	local path=$1
	[ -e "$(host_path "$path")" ] || return 0
	printf '+ rm -f %s\n' "$path"
	is_dry_run && return 0
	_as_root rm -f "$(host_path "$path")" || die "could not remove $path"
}

move_file() {
	printf '+ mv %s %s\n' "$1" "$2"
	is_dry_run && return 0
	_as_root mv "$(host_path "$1")" "$(host_path "$2")" || die "could not move $1 to $2"
}

install_file() {
	printf '+ install -m %s %s %s\n' "$3" "$1" "$2"
	is_dry_run && return 0
	_as_root install -m "$3" "$(host_path "$1")" "$(host_path "$2")" || die "could not install $2"
}

parse_common_args() {
	REST_ARGS=()
	while [ $# -gt 0 ]; do
		case $1 in
		--dry-run) DLENV_DRY_RUN=1 ;;
		-h | --help)
			usage
			exit 0
			;;
		*) REST_ARGS+=("$1") ;;
		esac
		shift
	done
	export DLENV_DRY_RUN
}

# user_c CMD: like sh_c, but runs as the invoking user (rootless engines configure $HOME).
user_c() {
	printf '+ %s\n' "$*"
	is_dry_run && return 0
	local status=0
	sh -c "$*" || status=$?
	if [ "$status" -ne 0 ]; then
		printf 'ERROR: command failed (exit %s): %s\n' "$status" "$*" >&2
		exit "$status"
	fi
}
