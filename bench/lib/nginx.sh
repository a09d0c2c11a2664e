# shellcheck shell=bash
# Shared by the benchmarks that measure against nginx as a reverse proxy (sourced): nginx in
# the foreground with everything (pid, logs, temp paths) under one directory, and -e so that
# it does not open the compiled-in error log before it has read our config. The caller writes
# the config's upstreams and servers; it defines `die` and keeps its processes in `pids`.

# nginx_setup DIR CONNECTIONS: sets nginx_prefix (DIR), nginx_conf and nginx_conns. Each
# proxied client holds two connections (client + upstream).
nginx_setup() {
  nginx_prefix="$1"
  nginx_conf="$nginx_prefix/nginx.conf"
  nginx_conns=$((2 * $2 + 128 > 1024 ? 2 * $2 + 128 : 1024))
  mkdir -p "$nginx_prefix"
  # When run as root the worker drops to 'nobody'; it must be able to reach its temp paths.
  chmod 755 "$(dirname "$nginx_prefix")" "$nginx_prefix"
}

# nginx_conf_start WORKERS: the config up to the http block's own settings, on stdout; the
# caller adds its upstreams and servers and closes the http block.
nginx_conf_start() {
  cat <<EOF
worker_processes $1;
pid ${nginx_prefix}/nginx.pid;
lock_file ${nginx_prefix}/nginx.lock;
error_log ${nginx_prefix}/error.log warn;

events {
    worker_connections ${nginx_conns};
}

http {
    access_log off;
    client_body_temp_path ${nginx_prefix}/client_body;
    proxy_temp_path       ${nginx_prefix}/proxy;
    fastcgi_temp_path     ${nginx_prefix}/fastcgi;
    uwsgi_temp_path       ${nginx_prefix}/uwsgi;
    scgi_temp_path        ${nginx_prefix}/scgi;
EOF
}

# nginx_start: checks nginx_conf, then starts nginx on it; sets nginx_pid and adds it to pids.
nginx_start() {
  nginx -t -q -e "$nginx_prefix/error.log" -c "$nginx_conf" -p "$nginx_prefix" -g 'daemon off;' \
    2>"$nginx_prefix/stderr.log" || { cat "$nginx_prefix/stderr.log" >&2; die "nginx rejected its config"; }
  nginx -e "$nginx_prefix/error.log" -c "$nginx_conf" -p "$nginx_prefix" -g 'daemon off;' \
    >>"$nginx_prefix/stderr.log" 2>&1 &
  nginx_pid=$!
  pids+=("$nginx_pid")
}
