#!/usr/bin/env bash
# Proves the Dockerfile on a machine without a Docker engine. It reads the
# Dockerfile and carries out its instructions in fresh Debian 12 roots made
# with debootstrap, one root per stage, so that the runtime stage holds only
# what its own lines install. Then it runs the image the way the Dockerfile
# describes it: the ENTRYPOINT as the USER, configured by environment
# variables only, against a throwaway PostgreSQL 15 on this host; the
# HEALTHCHECK; cyclectl and the example finalizer from inside the runtime
# root; SIGTERM and a clean exit. Needs root. Not part of scripts/test.sh: it
# downloads Debian packages and compiles everything (5 to 10 minutes on 2
# idle cores; the first run also debootstraps the base, about a minute).
#
#   scripts/check-container.sh [--dir DIR] [--context DIR] [--refresh-base]
#
# DIR (default $CHECK_CONTAINER_DIR or /var/tmp/cycle-claimer-container)
# keeps cache/bookworm-minbase.tar (the debootstrap result, reused until
# --refresh-base), roots/STAGE (made anew at every run; after a success only
# the image's root is kept) and logs/. --context is the build context
# (default: this repository).
#
# Instructions understood: FROM debian:bookworm[-slim] [AS name], ARG, ENV,
# WORKDIR, COPY [--from=stage], RUN, USER, EXPOSE, HEALTHCHECK, ENTRYPOINT,
# CMD, LABEL. Anything else fails the check rather than being skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

work=${CHECK_CONTAINER_DIR:-/var/tmp/cycle-claimer-container}
context=$repo
refresh_base=false
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
niceness=${CHECK_CONTAINER_NICE:-10}
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) work=${2:?--dir needs a folder}; shift 2 ;;
    --dir=*) work=${1#--dir=}; shift ;;
    --context) context=${2:?--context needs a folder}; shift 2 ;;
    --context=*) context=${1#--context=}; shift ;;
    --refresh-base) refresh_base=true; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
context=$(cd "$context" && pwd)
dockerfile=$context/Dockerfile

[ "$(id -u)" -eq 0 ] || { echo "check-container.sh needs root (chroot, mount)" >&2; exit 1; }
[ -f "$dockerfile" ] || { echo "no Dockerfile in $context" >&2; exit 1; }
python=$(command -v python3) || { echo "needs python3" >&2; exit 1; }
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

started=$(date +%s)
mkdir -p "$work/cache" "$work/roots" "$work/logs" "$work/tmp"
logs=$work/logs
rm -f "$logs"/*.log

checked=()
say() { printf '[%4ss] %s\n' "$(($(date +%s) - started))" "$*"; }
pass() { checked+=("$*"); say "ok: $*"; }
die() { say "FAILED: $*" >&2; exit 1; }

# --- Helpers in Python: Dockerfile words and variables, .dockerignore. ---
helper=$(mktemp "$work/tmp/dockerfile.XXXXXX.py")
cat >"$helper" <<'PY'
import json, os, re, shlex, sys

VARIABLE = re.compile(
    r"\\\$|\$\{([A-Za-z_]\w*)(?:(:[-+])([^}]*))?\}|\$([A-Za-z_]\w*)")

def expand(text):
    def substitute(match):
        if match.group(0) == "\\$":
            return "$"
        value = os.environ.get(match.group(1) or match.group(4), "")
        if match.group(2) == ":-":
            return value or match.group(3)
        if match.group(2) == ":+":
            return match.group(3) if value else ""
        return value
    return VARIABLE.sub(substitute, text)

def emit(words):
    sys.stdout.write("".join(word + "\0" for word in words))

def pattern_regex(pattern):
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
            continue
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        elif c == "[" and "]" in pattern[i + 1:]:
            j = pattern.index("]", i + 1)
            body = pattern[i + 1:j]
            out += "[" + ("^" + body[1:] if body.startswith("!") else body) + "]"
            i = j
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out)

def ignore_rules(context):
    rules = []
    path = os.path.join(context, ".dockerignore")
    if not os.path.exists(path):
        return rules
    for line in open(path, encoding="utf-8").read().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        line = os.path.normpath(line.lstrip("!").strip().lstrip("/"))
        if line != ".":
            rules.append((keep, pattern_regex(line)))
    return rules

def excluded(path, rules):
    # Docker's rule: a pattern excludes a path it matches or a path under a
    # folder it matches; the last matching pattern decides.
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for keep, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            result = not keep
    return result

def context_files(context, source):
    rules = ignore_rules(context)
    source = os.path.normpath(source.lstrip("/"))
    start = os.path.join(context, source)
    if source != "." and excluded(source, rules):
        return
    if not os.path.isdir(start) or os.path.islink(start):
        if os.path.lexists(start):
            emit([source])
        return
    prune = not any(keep for keep, _ in rules)
    for folder, dirs, files in os.walk(start):
        relative = os.path.relpath(folder, context)
        if relative == "." or not excluded(relative, rules):
            emit([relative])
        for name in list(dirs):
            path = os.path.normpath(os.path.join(relative, name))
            if os.path.islink(os.path.join(folder, name)):
                dirs.remove(name)
                files.append(name)
            elif prune and excluded(path, rules):
                dirs.remove(name)
        emit([os.path.normpath(os.path.join(relative, name)) for name in files
              if not excluded(os.path.normpath(os.path.join(relative, name)), rules)])

command, text = sys.argv[1], sys.argv[2]
if command == "words":  # shell-like words, variables expanded
    emit(shlex.split(expand(text)))
elif command == "expand":
    emit([expand(text)])
elif command == "exec":  # a JSON array (exec form) or exit 3 (shell form)
    try:
        words = json.loads(text)
    except ValueError:
        sys.exit(3)
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        sys.exit(3)
    emit(words)
elif command == "context":
    context_files(text, sys.argv[3])
PY

# Words of TEXT with the stage's variables expanded, into the array WORDS.
stage_environment() {
  local name
  for name in "${!stage_args[@]}"; do printf '%s=%s\0' "$name" "${stage_args[$name]}"; done
  for name in "${!stage_env[@]}"; do printf '%s=%s\0' "$name" "${stage_env[$name]}"; done
}
split_words() {
  local mode=$1 text=$2
  local -a environment=()
  mapfile -d '' environment < <(stage_environment)
  env -i "${environment[@]}" "$python" "$helper" "$mode" "$text" >"$work/tmp/words" ||
    die "cannot read: $text"
  mapfile -d '' WORDS <"$work/tmp/words"
}
# Exec form (a JSON array) into WORDS and status 0; status 1 for shell form.
exec_form() {
  "$python" "$helper" exec "$1" >"$work/tmp/words" || return 1
  mapfile -d '' WORDS <"$work/tmp/words"
}

# --- Roots and mounts. ---
mounted_under() { awk -v root="$1" '$2 == root || index($2, root "/") == 1 { print $2 }' /proc/self/mounts; }
unmount_root() {
  local root=$1 point
  for point in $(mounted_under "$root" | sort -r); do
    umount "$point" 2>/dev/null || umount -l "$point"
  done
}
mount_root() {
  local root=$1
  mount -t proc proc "$root/proc"
  mount -t sysfs -o ro sysfs "$root/sys"
  # Slave mounts: nothing done under the root propagates back to the host.
  mount --bind /dev "$root/dev" && mount --make-slave "$root/dev"
  mount --bind /dev/pts "$root/dev/pts" && mount --make-slave "$root/dev/pts"
}
# Ends what still runs inside ROOT (a run stopped half-way, this one's or an
# earlier one's): those are processes this script started.
stop_processes_in() {
  local root=$1 link pid
  local -a pids=()
  for link in /proc/[0-9]*/root; do
    case "$(readlink "$link" 2>/dev/null)" in
      "$root" | "$root (deleted)") pid=${link#/proc/}; pids+=("${pid%/root}") ;;
    esac
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  sleep 2
  kill -KILL "${pids[@]}" 2>/dev/null || true
}
remove_root() {
  local root=$1
  stop_processes_in "$root"
  unmount_root "$root"
  [ -z "$(mounted_under "$root")" ] || die "still mounted under $root; not deleting it"
  rm -rf --one-file-system "$root"
}

base_tar=$work/cache/bookworm-minbase.tar
make_base() {
  local tree=$work/cache/base.tmp
  remove_root "$tree"
  say "debootstrap --variant=minbase bookworm (log: $logs/debootstrap.log)"
  nice -n "$niceness" debootstrap --variant=minbase bookworm "$tree" "$mirror" \
    >"$logs/debootstrap.log" 2>&1 || { tail -n 20 "$logs/debootstrap.log" >&2; die "debootstrap"; }
  tar -C "$tree" --numeric-owner -cf "$base_tar.partial" .
  mv "$base_tar.partial" "$base_tar"
  remove_root "$tree"
}

# A fresh root for an image: the minbase tree as Debian's official images
# are built (debuerreotype, also minbase), with what they and the engine add:
# bookworm, -updates and -security sources; a policy-rc.d that keeps package
# scripts from starting services; apt that keeps no .deb files (and, for
# slim, dpkg that installs no documentation); DNS and a localhost /etc/hosts.
new_root() {
  local root=$1 image=$2
  remove_root "$root"
  mkdir -p "$root"
  tar -C "$root" --numeric-owner -xpf "$base_tar"
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  if [ "$image" = debian:bookworm-slim ]; then
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
    find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
    rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
  fi
  apt_clean "$root"
  mount_root "$root"
}
apt_clean() { rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb; }

# uid:gid for a Dockerfile USER (name or number, optional :group) in ROOT.
resolve_user() {
  local root=$1 spec=$2 user group uid gid
  user=${spec%%:*}
  group=$([[ "$spec" == *:* ]] && echo "${spec#*:}" || true)
  if [[ "$user" =~ ^[0-9]+$ ]]; then
    uid=$user
    gid=$(chroot "$root" getent passwd "$uid" | cut -d: -f4 || true)
  else
    uid=$(chroot "$root" getent passwd "$user" | cut -d: -f3) || die "USER $user is not in the image"
    gid=$(chroot "$root" getent passwd "$user" | cut -d: -f4)
  fi
  if [ -n "$group" ]; then
    if [[ "$group" =~ ^[0-9]+$ ]]; then gid=$group; else
      gid=$(chroot "$root" getent group "$group" | cut -d: -f3) || die "group $group is not in the image"
    fi
  fi
  echo "$uid:${gid:-$uid}"
}
home_of() {
  local home
  home=$(chroot "$1" getent passwd "${2%%:*}" | cut -d: -f6 || true)
  echo "${home:-/}"
}

# Runs ARGV in ROOT as USERSPEC ("" = root) in WORKDIR with exactly the
# environment given (K=V words before --), like docker run/exec; behind the
# caller's `wrapper` command (nice, timeout), if any. With IN_ROOT_EXEC set
# it replaces the calling (sub)shell, so that $! is the process itself.
wrapper=()
in_root() {
  local root=$1 userspec=$2 workdir=$3
  shift 3
  local -a environment=()
  while [ "$1" != -- ]; do environment+=("$1"); shift; done
  shift
  local -a as_user=()
  [ -n "$userspec" ] && as_user=(--userspec="$userspec" --groups="${userspec#*:}")
  local -a command=("${wrapper[@]}" chroot "${as_user[@]}" "$root" /usr/bin/env -i -C "$workdir"
    "${environment[@]}" "$@")
  if [ -n "${IN_ROOT_EXEC:-}" ]; then exec "${command[@]}"; fi
  "${command[@]}"
}
default_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The environment a process of the current stage starts with.
process_environment() {
  local hostname=$1 home=$2 name
  ENVIRONMENT=("HOSTNAME=$hostname" "HOME=$home")
  [ -n "${stage_env[PATH]:-}" ] || ENVIRONMENT+=("PATH=$default_path")
  for name in "${!stage_args[@]}"; do
    [ -n "${stage_env[$name]+set}" ] || ENVIRONMENT+=("$name=${stage_args[$name]}")
  done
  for name in "${!stage_env[@]}"; do ENVIRONMENT+=("$name=${stage_env[$name]}"); done
}

# --- Cleanup: processes, mounts, PostgreSQL, temp files. ---
server_pid=
finalizer_pid=
stop_process() {
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  local status=$?
  stop_process "$finalizer_pid"
  stop_process "$server_pid"
  for root in "$work"/roots/*; do
    [ -d "$root" ] || continue
    stop_processes_in "$root"
    unmount_root "$root"
  done
  if [ -n "${PG_THROWAWAY_DIR:-}" ]; then
    pg_stop "$PG_THROWAWAY_DIR"
    rm -rf "$PG_THROWAWAY_DIR"
  fi
  rm -f "$helper" "$work/tmp/words"
  rm -rf "$work"/tmp/copy.*
  if [ "$status" -ne 0 ]; then
    echo "check-container: FAILED after $(($(date +%s) - started))s; logs in $logs" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- Read the Dockerfile: one entry per instruction. ---
instructions=()
pending=""
while IFS= read -r line || [ -n "$line" ]; do
  trimmed=${line#"${line%%[![:space:]]*}"}
  [[ -z "$trimmed" || "$trimmed" == \#* ]] && continue
  line=${line%"${line##*[![:space:]]}"}
  if [[ "$line" == *\\ ]]; then
    pending+="${line%\\} "
    continue
  fi
  instructions+=("$pending$line")
  pending=""
done <"$dockerfile"
[ -z "$pending" ] || instructions+=("$pending")

if $refresh_base || [ ! -s "$base_tar" ]; then make_base; fi
say "base: $base_tar ($(du -h "$base_tar" | cut -f1), made $(date -r "$base_tar" '+%F %T'))"

# --- Carry out the stages. ---
declare -A stage_root=() stage_env=() stage_args=() global_args=()
stage=""
root=""
workdir=/
user=""
stages_total=0
entrypoint=()
cmd=()
healthcheck=""
healthcheck_options=""
exposed=()
number=0
for instruction in "${instructions[@]}"; do
  number=$((number + 1))
  keyword=${instruction%%[[:space:]]*}
  keyword=${keyword^^}
  arguments=${instruction#*[[:space:]]}
  arguments=${arguments#"${arguments%%[![:space:]]*}"}
  [ -n "$stage" ] || [ "$keyword" = FROM ] || [ "$keyword" = ARG ] ||
    die "line $number: $keyword before FROM"
  short=$instruction
  [ ${#short} -le 110 ] || short="${short:0:107}..."
  case "$keyword" in
    FROM)
      [ -z "$root" ] || unmount_root "$root"
      stages_total=$((stages_total + 1))
      stage_env=()
      stage_args=()
      for name in "${!global_args[@]}"; do stage_args[$name]=${global_args[$name]}; done
      split_words words "$arguments"
      image=${WORDS[0]}
      if [ ${#WORDS[@]} -eq 3 ] && [ "${WORDS[1]^^}" = AS ]; then
        stage=${WORDS[2]}
      elif [ ${#WORDS[@]} -eq 1 ]; then
        stage=stage$((stages_total - 1))
      else
        die "line $number: FROM $arguments"
      fi
      case "$image" in
        debian:bookworm | debian:bookworm-slim) ;;
        *) die "FROM $image: only debian:bookworm and debian:bookworm-slim are emulated" ;;
      esac
      root=$work/roots/$stage
      stage_root[$stage]=$root
      workdir=/
      user=""
      entrypoint=()
      cmd=()
      healthcheck=""
      exposed=()
      say "stage $stage: FROM $image -> fresh root $root"
      new_root "$root" "$image"
      ;;
    ARG)
      name=${arguments%%=*}
      value=$([[ "$arguments" == *=* ]] && echo "${arguments#*=}" || true)
      if [ -z "$stage" ]; then global_args[$name]=$value; else stage_args[$name]=$value; fi
      ;;
    ENV)
      split_words words "$arguments"
      if [ ${#WORDS[@]} -ge 1 ] && [[ "${WORDS[0]}" != *=* ]]; then
        stage_env[${WORDS[0]}]=${arguments#*[[:space:]]}
      else
        for pair in "${WORDS[@]}"; do stage_env[${pair%%=*}]=${pair#*=}; done
      fi
      ;;
    WORKDIR)
      split_words expand "$arguments"
      case "${WORDS[0]}" in
        /*) workdir=${WORDS[0]} ;;
        *) workdir=${workdir%/}/${WORDS[0]} ;;
      esac
      mkdir -p "$root$workdir"
      ;;
    USER)
      split_words expand "$arguments"
      user=${WORDS[0]}
      ;;
    COPY)
      if ! exec_form "$arguments"; then split_words words "$arguments"; fi
      from=""
      words=("${WORDS[@]}")
      while [[ "${words[0]}" == --* ]]; do
        case "${words[0]}" in
          --from=*) from=${words[0]#--from=} ;;
          *) die "line $number: COPY ${words[0]} is not emulated" ;;
        esac
        words=("${words[@]:1}")
      done
      [ ${#words[@]} -ge 2 ] || die "line $number: COPY needs a source and a destination"
      destination=${words[-1]}
      [[ "$destination" == /* ]] || destination=${workdir%/}/$destination
      sources=("${words[@]:0:${#words[@]}-1}")
      step_start=$(date +%s)
      for source in "${sources[@]}"; do
        [[ "$source" != *[*?[]* ]] || die "line $number: COPY wildcards are not emulated"
        if [ -n "$from" ]; then
          [ -n "${stage_root[$from]:-}" ] || die "line $number: no stage $from"
          origin=${stage_root[$from]}/${source#/}
        else
          staging=$(mktemp -d "$work/tmp/copy.XXXXXX")
          list=$staging.list
          "$python" "$helper" context "$context" "$source" >"$list"
          [ -s "$list" ] || die "line $number: COPY $source: not in the context (or excluded by .dockerignore)"
          tar -C "$context" --null --no-recursion -T "$list" --owner=0 --group=0 \
            --numeric-owner -cf - | tar -C "$staging" -xpf -
          origin=$staging/$source
        fi
        [ -e "$origin" ] || die "line $number: COPY $source: not found"
        if [ -d "$origin" ]; then
          mkdir -p "$root$destination"
          cp -a "$origin/." "$root$destination/"
        elif [[ "$destination" == */ ]] || [ ${#sources[@]} -gt 1 ] || [ -d "$root$destination" ]; then
          mkdir -p "$root$destination"
          cp -a "$origin" "$root${destination%/}/"
        else
          mkdir -p "$(dirname "$root$destination")"
          cp -a "$origin" "$root$destination"
        fi
      done
      rm -rf "$work"/tmp/copy.*
      say "[$stage] $short ($(($(date +%s) - step_start))s)"
      ;;
    RUN)
      if exec_form "$arguments"; then argv=("${WORDS[@]}"); else argv=(/bin/sh -c "$arguments"); fi
      userspec=""
      home=/root
      if [ -n "$user" ]; then
        userspec=$(resolve_user "$root" "$user")
        home=$(home_of "$root" "$userspec")
      fi
      process_environment buildkitsandbox "$home"
      log=$logs/$stage-line$number.log
      say "[$stage] $short"
      step_start=$(date +%s)
      wrapper=(nice -n "$niceness")
      if ! in_root "$root" "$userspec" "$workdir" "${ENVIRONMENT[@]}" -- "${argv[@]}" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        die "[$stage] RUN at Dockerfile instruction $number failed (log: $log)"
      fi
      wrapper=()
      say "[$stage]   done in $(($(date +%s) - step_start))s (log: $log)"
      ;;
    EXPOSE)
      split_words words "$arguments"
      exposed=("${WORDS[@]}")
      ;;
    HEALTHCHECK)
      healthcheck_options=""
      rest=$arguments
      while [[ "$rest" == --* ]]; do
        healthcheck_options+="${rest%%[[:space:]]*} "
        rest=${rest#*[[:space:]]}
        rest=${rest#"${rest%%[![:space:]]*}"}
      done
      [ "${rest^^}" != NONE ] || { healthcheck=""; continue; }
      [[ "$rest" == CMD[[:space:]]* ]] || die "line $number: HEALTHCHECK needs CMD"
      healthcheck=${rest#CMD}
      healthcheck=${healthcheck#"${healthcheck%%[![:space:]]*}"}
      ;;
    ENTRYPOINT)
      if exec_form "$arguments"; then entrypoint=("${WORDS[@]}"); else entrypoint=(/bin/sh -c "$arguments"); fi
      ;;
    CMD)
      if exec_form "$arguments"; then cmd=("${WORDS[@]}"); else cmd=(/bin/sh -c "$arguments"); fi
      ;;
    LABEL) ;;
    *) die "line $number: $keyword is not emulated" ;;
  esac
done
[ -n "$root" ] || die "the Dockerfile has no FROM"
[ ${#entrypoint[@]} -gt 0 ] || [ ${#cmd[@]} -gt 0 ] || die "the image has neither ENTRYPOINT nor CMD"
[ -n "$healthcheck" ] || die "the image has no HEALTHCHECK"
[ -n "$user" ] || die "the image has no USER: it would run as root"
image_root=$root
image_user=$(resolve_user "$image_root" "$user")
[ "${image_user%%:*}" != 0 ] || die "USER $user is root"
for name in "${!stage_root[@]}"; do
  [ "${stage_root[$name]}" = "$image_root" ] || unmount_root "${stage_root[$name]}"
done
build_seconds=$(($(date +%s) - started))
pass "Dockerfile carried out: $stages_total stages, each in its own fresh debootstrap root ($((build_seconds / 60))m$((build_seconds % 60))s)"

# --- The image: its libraries. ---
mapfile -t binaries < <(cd "$image_root" && find usr/local/bin -type f -perm -u+x | sort)
[ ${#binaries[@]} -gt 0 ] || die "no executables in /usr/local/bin of the image"
for binary in "${binaries[@]}"; do
  if chroot "$image_root" ldd "/$binary" | grep 'not found' >&2; then
    die "/$binary: shared libraries missing from the runtime stage"
  fi
done
pass "every shared library of ${binaries[*]#usr/local/bin/} resolves in the runtime root"
say "image size: $(du -shx "$image_root" | cut -f1) (uncompressed)"

# --- Run it: PostgreSQL on the host, configuration by environment only. ---
source scripts/lib/postgres.sh
# pg_start_throwaway sets its own EXIT trap; cleanup() covers what it does.
pg_start_throwaway cycle-claimer-container || { trap cleanup EXIT; die "cannot start PostgreSQL"; }
trap cleanup EXIT
psql "$PG_THROWAWAY_URL/postgres" -qc "CREATE DATABASE kimp"
database_url=$PG_THROWAWAY_URL/kimp
grpc_port=$(free_port)
metrics_port=$(free_port)
say "PostgreSQL 15 at $database_url; image listens on 127.0.0.1:$grpc_port"

home=$(home_of "$image_root" "$image_user")
process_environment cycle-claimer "$home"
container_env=("${ENVIRONMENT[@]}" "DATABASE_URL=$database_url" PLAINTEXT=true
  "LISTEN_ADDRESS=127.0.0.1:$grpc_port" "METRICS_ADDR=127.0.0.1:$metrics_port"
  SHUTDOWN_GRACE=5s LOG_LEVEL=info)
container() { in_root "$image_root" "$image_user" "$workdir" "${container_env[@]}" -- "$@"; }
if exec_form "$healthcheck"; then health=("${WORDS[@]}"); else health=(/bin/sh -c "$healthcheck"); fi
health_timeout=$(sed -n 's/.*--timeout=\([0-9]*\)s.*/\1/p' <<<"$healthcheck_options")
run_healthcheck() {
  local -a wrapper=(timeout "${health_timeout:-30}")
  container "${health[@]}"
}

status=0
run_healthcheck >"$logs/health-before.log" 2>&1 || status=$?
[ "$status" -ne 0 ] || die "HEALTHCHECK passes with no server running: it checks nothing"
pass "HEALTHCHECK fails while no server runs (exit $status)"

(IN_ROOT_EXEC=1 container "${entrypoint[@]}" "${cmd[@]}") >"$logs/server.log" 2>&1 &
server_pid=$!
health_start=$(date +%s)
attempts=0
until run_healthcheck >"$logs/health.log" 2>&1; do
  attempts=$((attempts + 1))
  kill -0 "$server_pid" 2>/dev/null || { tail -n 30 "$logs/server.log" >&2; die "the server exited"; }
  [ $(($(date +%s) - health_start)) -lt 60 ] || { tail -n 30 "$logs/server.log" >&2; die "HEALTHCHECK never passed"; }
  sleep 1
done
pass "ENTRYPOINT ${entrypoint[*]}${cmd[*]:+ ${cmd[*]}} starts from environment variables alone; HEALTHCHECK '${health[*]: -1}' passes after $(($(date +%s) - health_start))s ($(tr -d '\n' <"$logs/health.log"))"

read -r _ real_uid effective_uid _ < <(grep '^Uid:' "/proc/$server_pid/status")
read -r _ real_gid _ < <(grep '^Gid:' "/proc/$server_pid/status")
[ "$real_uid" = "${image_user%%:*}" ] && [ "$effective_uid" = "$real_uid" ] ||
  die "the server runs as uid $real_uid/$effective_uid, not ${image_user%%:*}"
[ "$(readlink "/proc/$server_pid/root")" = "$image_root" ] || die "the server is not inside the runtime root"
pass "the server runs as uid $real_uid gid $real_gid (USER $user), not root, inside the runtime root"

created=$(container cyclectl --server="127.0.0.1:$grpc_port" create) || die "cyclectl create"
claimed=$(container cyclectl --server="127.0.0.1:$grpc_port" --worker=check-container claim) ||
  die "cyclectl claim found nothing"
read -r cycle_id _ token_field _ <<<"$claimed"
container cyclectl --server="127.0.0.1:$grpc_port" complete "$cycle_id" "${token_field#token=}" >/dev/null ||
  die "cyclectl complete"
[ "$(psql "$database_url" -tAc "SELECT status FROM arbitrage_cycles WHERE id = '$cycle_id'")" = COMPLETED ] ||
  die "cycle $cycle_id is not COMPLETED in the table"
pass "cyclectl in the image: create ${created%% *}, claim (${token_field}), complete; the row is COMPLETED"

for _ in 1 2 3; do container cyclectl --server="127.0.0.1:$grpc_port" create >/dev/null; done
(IN_ROOT_EXEC=1 container example_finalizer --server="127.0.0.1:$grpc_port" \
  --worker=check-finalizer) >"$logs/finalizer.log" 2>&1 &
finalizer_pid=$!
for _ in $(seq 1 300); do
  completed=$(psql "$database_url" -tAc "SELECT count(*) FROM arbitrage_cycles WHERE status = 'COMPLETED'")
  [ "$completed" -lt 4 ] || break
  kill -0 "$finalizer_pid" 2>/dev/null || die "example_finalizer exited: $(tail -n 5 "$logs/finalizer.log")"
  sleep 0.1
done
[ "$completed" -eq 4 ] || die "example_finalizer completed $((completed - 1)) of 3 cycles"
kill -TERM "$finalizer_pid"
status=0
wait "$finalizer_pid" || status=$?
finalizer_pid=
[ "$status" -eq 0 ] || die "example_finalizer exited $status on SIGTERM"
pass "example_finalizer in the image completed 3 new cycles and exited 0 on SIGTERM ($(tail -n 1 "$logs/finalizer.log"))"

if metrics=$(curl -fsS --max-time 5 "http://127.0.0.1:$metrics_port/metrics" 2>/dev/null); then
  pass "metrics served on METRICS_ADDR ($(grep -vc '^#' <<<"$metrics") samples)"
else
  say "note: nothing answers on METRICS_ADDR=127.0.0.1:$metrics_port/metrics; not checked"
fi

stop_start=$(date +%s)
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=
[ "$status" -eq 0 ] || { tail -n 20 "$logs/server.log" >&2; die "the server exited $status on SIGTERM"; }
pass "SIGTERM: the server drained and exited 0 in $(($(date +%s) - stop_start))s"
status=0
run_healthcheck >"$logs/health-after.log" 2>&1 || status=$?
[ "$status" -ne 0 ] || die "HEALTHCHECK still passes after the server stopped"

# The build roots are large and only of interest when something failed.
for name in "${!stage_root[@]}"; do
  [ "${stage_root[$name]}" = "$image_root" ] || remove_root "${stage_root[$name]}"
done
seconds=$(($(date +%s) - started))
echo
echo "check-container: the Dockerfile at $dockerfile"
echo "  recorded: USER $user ($image_user), WORKDIR $workdir, EXPOSE ${exposed[*]:-none}"
echo "            HEALTHCHECK ${healthcheck_options}CMD $healthcheck"
echo "            ENTRYPOINT ${entrypoint[*]}${cmd[*]:+, CMD ${cmd[*]}}"
for line in "${checked[@]}"; do echo "  ok  $line"; done
echo "${#checked[@]} passed, 0 failed in $((seconds / 60))m$((seconds % 60))s (logs: $logs)"
