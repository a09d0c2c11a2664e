# shellcheck shell=bash
# Shared by the proxy bench scripts (sourced): starting, waiting for and stopping the
# processes under test, and reading wrk's durations. Callers define `die MESSAGE` and may set
# CURL_TLS_ARGS (e.g. --cacert CA) for HTTPS targets.
CURL_TLS_ARGS=()

# print_log_tails, for the callers' cleanup.
source "$(dirname "${BASH_SOURCE[0]}")/log_tails.sh"

# stop_pids PID...: SIGTERM to each, up to 5 s for all of them to exit, then SIGKILL.
stop_pids() {
  local pid deadline
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null; done
  deadline=$((SECONDS + 5))
  for pid in "$@"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "bench: pid $pid did not stop on SIGTERM, killing it" >&2
      kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
  done
}

# wait_until DESCRIPTION TIMEOUT_S PID COMMAND...: polls COMMAND until it succeeds.
wait_until() {
  local what="$1" timeout="$2" pid="$3"
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    kill -0 "$pid" 2>/dev/null || die "$what: process $pid exited during start-up"
    ((SECONDS < deadline)) || die "$what: not ready after ${timeout}s"
    sleep 0.05
  done
}

# http_code URL: the status of a GET, or nothing when no answer came within a second.
http_code() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 1 "${CURL_TLS_ARGS[@]}" "$1" 2>/dev/null || true
}

# figure_ok BASE_URL: the figure the scripts ask for (PATH_Q) is answered there.
figure_ok() { [[ "$(http_code "$1${PATH_Q}")" == 200 ]]; }

# gateway_knows_pieces BASE_URL PIECES_ADDR: the gateway routes to that piece server.
gateway_knows_pieces() {
  local status seg
  status="$(curl -s --max-time 1 "${CURL_TLS_ARGS[@]}" "$1/api/status" 2>/dev/null)" || return 1
  [[ "$status" == *'"piece_servers":'* ]] || return 1
  seg="${status#*\"piece_servers\":}"
  seg="${seg%%\"departed\":*}"
  [[ "$seg" == *"\"address\":\"$2\""* ]]
}

# to_ms VALUE: wrk prints durations as e.g. 812.00us, 1.23ms, 2.01s, 1.00m.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (match(v, /^[0-9.]+/) == 0) { print "nan"; exit }
    n = substr(v, 1, RLENGTH); u = substr(v, RLENGTH + 1)
    if (u == "us") f = 0.001; else if (u == "ms") f = 1; else if (u == "s") f = 1000;
    else if (u == "m") f = 60000; else if (u == "h") f = 3600000; else { print "nan"; exit }
    printf "%.3f", n * f
  }'
}

# write_nginx_backends DIR ADDRESS...: an nginx.conf in DIR (pid, logs and temp files there too)
# with one server per ADDRESS answering every path with a small JSON body that names it:
# backends cheap enough that the balancer in front of them is what a bench measures.
write_nginx_backends() {
  local dir="$1" backend
  shift
  {
    echo "worker_processes 1; pid $dir/nginx.pid; error_log $dir/error.log warn;"
    echo "events { worker_connections 4096; }"
    echo "http { access_log off; keepalive_requests 1000000; keepalive_timeout 60s;"
    echo "  client_body_temp_path $dir; proxy_temp_path $dir;"
    echo "  fastcgi_temp_path $dir; uwsgi_temp_path $dir; scgi_temp_path $dir;"
    for backend in "$@"; do
      echo "  server { listen $backend; default_type application/json;"
      echo "    location / { return 200 '{\"figures\":[{\"name\":\"giraffe\",\"backend\":\"$backend\"}]}'; } }"
    done
    echo "}"
  } >"$dir/nginx.conf"
}

# write_haproxy_config FILE THREADS BIND ADDRESS...: HAProxy as the benches compare isla
# balancer with: round robin over the ADDRESSes with keep-alive both sides (http-reuse
# always) and health checks like isla's defaults (inter 2s fall 3 rise 2).
write_haproxy_config() {
  local file="$1" threads="$2" bind="$3" backend i=0
  shift 3
  {
    echo "global"
    echo "  nbthread $threads"
    echo "  maxconn 8000"
    echo "defaults"
    echo "  mode http"
    echo "  timeout connect 1s"
    echo "  timeout client 30s"
    echo "  timeout server 30s"
    echo "  timeout http-keep-alive 10s"
    echo "  option http-keep-alive"
    echo "  http-reuse always"
    echo "frontend service"
    echo "  bind $bind"
    echo "  default_backend gateways"
    echo "backend gateways"
    echo "  balance roundrobin"
    echo "  option httpchk GET /"
    for backend in "$@"; do
      i=$((i + 1))
      echo "  server g$i $backend check inter 2s fall 3 rise 2"
    done
  } >"$file"
}
