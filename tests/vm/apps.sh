# SPDX-License-Identifier: GPL-2.0
# Stock applications in the VM (sourced after lib.sh): nginx, haproxy and
# wrk from Debian, unmodified, run three ways on the same kernel:
#
#   stock    fastsocket.ko not loaded: stock 6.12
#   preload  loaded, the application under LD_PRELOAD=libfsocket.so
#   auto     loaded with listen_auto=1, no libfsocket.so
#
# Every way runs under libfsprobe.so, which counts for each accepted
# connection the cpu that accepted it and the cpu that processed its
# packets (SO_INCOMING_CPU); "locality" is the fraction where they agree.
# The probe costs the same in every way, so the ways compare fairly.
#
# Both pin their workers, one per cpu (nginx's worker_cpu_affinity,
# haproxy's cpu-map): fastsocket uses a cpu's accept queue only for tasks
# pinned to that cpu, and serves unpinned ones from the listener's shared
# queue, as stock does.

FS_TOOLS=$FS_TOP/userspace-tools/target/release
FS_PRELOAD=$FS_TOOLS/libfsocket.so
FS_PROBE=$FS_TOOLS/libfsprobe.so
APP_SECONDS=${FS_APP_SECONDS:-4}
APP_MODES=${FS_APP_MODES:-stock preload auto}

# mode_setup MODE: loads or unloads the module and sets APP_PRELOAD, the
# LD_PRELOAD value for the application.
mode_setup() {
	case $1 in
	stock)
		! is_loaded || unload
		APP_PRELOAD=$FS_PROBE
		;;
	preload)
		is_loaded || load
		fs_sysctl listen_auto 0
		APP_PRELOAD=$FS_PRELOAD:$FS_PROBE
		;;
	auto)
		is_loaded || load
		fs_sysctl listen_auto 1
		APP_PRELOAD=$FS_PROBE
		;;
	*) fail "unknown mode $1" ;;
	esac
}

# wait_port PORT: until something listens on PORT (in APP_NS).
wait_port() {
	for _ in $(seq 200); do
		# shellcheck disable=SC2086 # APP_NS: an optional command prefix
		${APP_NS:-} ss -Hltn "sport = :$1" | grep -q LISTEN && return 0
		sleep 0.05
	done
	fail "nothing listens on port $1"
}

# nginx_start DIR PORT WORKERS ACCEPT_MUTEX(on|off) REUSEPORT(0|1): nginx
# with one pinned worker per cpu (worker_cpu_affinity auto: the first
# WORKERS cpus), answering every request with a short body and closing, on
# APP_ADDR (127.0.0.1) in APP_NS (a command prefix such as "ip netns exec
# NS", or nothing); sets NGINX_PID.
nginx_start() {
	local dir=$1 port=$2 workers=$3 mutex=$4 reuse=""
	[ "$5" = 1 ] && reuse=" reuseport"
	rm -rf "$dir"
	mkdir -p "$dir"
	chmod 0777 "$dir"
	cat >"$dir/nginx.conf" <<EOT
worker_processes $workers;
worker_cpu_affinity auto;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
	worker_connections 4096;
	accept_mutex $mutex;
}
http {
	access_log off;
	keepalive_timeout 0;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	server {
		listen ${APP_ADDR:-127.0.0.1}:$port$reuse;
		location / { return 200 "fastsocket\n"; }
	}
}
EOT
	# shellcheck disable=SC2086 # APP_NS: an optional command prefix
	LD_PRELOAD=$APP_PRELOAD ${APP_NS:-} nginx -p "$dir" -c "$dir/nginx.conf" \
		-e "$dir/error.log" >"$dir/stderr" 2>&1 &
	NGINX_PID=$!
	wait_port "$port"
}

# haproxy_start DIR PORT BACKEND_PORT REUSEPORT(0|1): haproxy as an HTTP
# proxy to 127.0.0.1:BACKEND_PORT, one thread per cpu (cpu-map), a new
# backend connection per request (httpclose).  REUSEPORT=1 gives each
# thread its own listening socket ("bind ... thread N"; haproxy sets
# SO_REUSEPORT on every listener).  Sets HAPROXY_PID.
haproxy_start() {
	local dir=$1 port=$2 back=$3 cpus binds t
	cpus=$(nproc)
	binds="	bind 127.0.0.1:$port"
	if [ "$4" = 1 ]; then
		binds=$(for t in $(seq "$cpus"); do printf '\tbind 127.0.0.1:%s thread %s\n' "$port" "$t"; done)
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	cat >"$dir/haproxy.cfg" <<EOT
global
	nbthread $cpus
	cpu-map auto:1/1-$cpus 0-$((cpus - 1))
defaults
	mode http
	option httpclose
	timeout connect 10s
	timeout client 30s
	timeout server 30s
frontend web
$binds
	default_backend nginx
backend nginx
	server local 127.0.0.1:$back
EOT
	LD_PRELOAD=$APP_PRELOAD haproxy -db -f "$dir/haproxy.cfg" >"$dir/stderr" 2>&1 &
	HAPROXY_PID=$!
	wait_port "$port"
}

# haproxy_stop PID: haproxy stops on SIGTERM (on app_stop's SIGQUIT it
# would only dump its memory pools).
haproxy_stop() {
	kill -TERM "$1"
	wait "$1" 2>/dev/null || true
}

# app_stop PID: a graceful stop (SIGQUIT: nginx finishes what it serves),
# then waits.  haproxy has haproxy_stop.
app_stop() {
	kill -QUIT "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# wrk_run URL OUT: wrk with "Connection: close" (a new connection per
# request), one thread per cpu (or WRK_THREADS), four connections each, for
# APP_SECONDS, under WRK_PREFIX (a command prefix) if set; output in OUT.
wrk_run() {
	local threads
	threads=${WRK_THREADS:-$(nproc)}
	# shellcheck disable=SC2086 # WRK_PREFIX: an optional command prefix
	${WRK_PREFIX:-} wrk -t "$threads" -c $((threads * 4)) -d "${APP_SECONDS}s" --timeout 10s \
		--latency -H "Connection: close" "$1" >"$2" 2>&1 || fail "wrk $1: $(cat "$2")"
}

# wrk_field OUT KEY: requests, rps, errors (socket errors of any kind),
# non2xx, p50_us, p99_us; KEY "json": all of them as one JSON object (one
# process instead of six, which counts under TCG).
wrk_field() {
	awk -v key="$2" '
		function us(v) {
			if (v ~ /us$/) return v + 0
			if (v ~ /ms$/) return v * 1000
			if (v ~ /s$/) return v * 1000000
			return v
		}
		/ requests in / { requests = $1 }
		/^Requests\/sec:/ { rps = $2 }
		/Socket errors:/ { gsub(/,/, ""); errors = $4 + $6 + $8 + $10 }
		/Non-2xx or 3xx responses:/ { non2xx = $5 }
		$1 == "50%" { p50 = us($2) }
		$1 == "99%" { p99 = us($2) }
		END {
			v["requests"] = requests + 0; v["rps"] = rps + 0
			v["errors"] = errors + 0; v["non2xx"] = non2xx + 0
			v["p50_us"] = p50 + 0; v["p99_us"] = p99 + 0
			if (key != "json") { print v[key]; exit }
			sep = "{"
			for (k in v) { printf "%s\"%s\":%s", sep, k, v[k]; sep = "," }
			print "}"
		}' "$1"
}

# probe_dir DIR: a fresh directory for libfsprobe.so (FSPROBE_DIR).
probe_dir() {
	rm -rf "$1"
	mkdir -p "$1"
	chmod 0777 "$1"
}

# probe_field DIR KEY: a figure of the probe summary (accepts, local,
# fraction); probe_list DIR KEY: a per-cpu list (per_cpu_accepts, ...).
probe_field() {
	"$FS_TOOLS/fsprobe" "$1" | jq -r --arg k "$2" '.[$k] // empty'
}
probe_list() {
	"$FS_TOOLS/fsprobe" "$1" | jq -r --arg k "$2" '.[$k] // [] | map(tostring) | join(",")'
}

# check_answered LABEL WRK_OUT PROBE_DIR: every request got its answer, and
# each was a connection the server accepted.
check_answered() {
	local requests errors non2xx accepts
	requests=$(wrk_field "$2" requests)
	errors=$(wrk_field "$2" errors)
	non2xx=$(wrk_field "$2" non2xx)
	accepts=$(probe_field "$3" accepts)
	[ "$requests" -gt 0 ] || fail "$1: no request completed: $(cat "$2")"
	[ "$errors" = 0 ] || fail "$1: $errors socket errors: $(grep -A1 'Socket errors' "$2")"
	[ "$non2xx" = 0 ] || fail "$1: $non2xx answers were not 2xx"
	[ "${accepts:-0}" -ge "$requests" ] ||
		fail "$1: $requests requests but only ${accepts:-0} accepts counted"
}

# ratio A B: A / B to two places.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'
}

# at_least X Y: whether the number X >= Y.
at_least() {
	awk -v x="$1" -v y="$2" 'BEGIN { exit !(x >= y) }'
}
