# shellcheck shell=bash
# Shared by the benchmarks that run etcd (sourced): the flags of one member of a local
# cluster, one member on each address of ETCD_HOSTS, each member's data in $tmp/etcdN. The
# caller starts the member (with its own launcher, extra flags and log) and keeps its
# ETCD_* knobs out of etcd's environment: etcd reads ETCD_* variables as flags.

# etcd_member_args N CLIENT_PORT PEER_PORT TOKEN: sets the array etcd_args to member eN's
# flags (its log to stderr, as zap), and makes its data directory.
etcd_member_args() {
  local n="$1" client="$2" peer="$3" token="$4" host="${ETCD_HOSTS[$(($1 - 1))]}" i cluster=""
  for i in "${!ETCD_HOSTS[@]}"; do cluster+="${cluster:+,}e$((i + 1))=http://${ETCD_HOSTS[i]}:$peer"; done
  mkdir -p "$tmp/etcd$n"
  etcd_args=(--name "e$n" --data-dir "$tmp/etcd$n"
    --listen-client-urls "http://$host:$client" --advertise-client-urls "http://$host:$client"
    --listen-peer-urls "http://$host:$peer" --initial-advertise-peer-urls "http://$host:$peer"
    --initial-cluster "$cluster" --initial-cluster-state new
    --initial-cluster-token "$token" --logger zap --log-outputs stderr)
}
