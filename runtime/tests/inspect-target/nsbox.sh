#!/bin/sh
# A task in its own mount, UTS, IPC, network, PID and time namespaces, in cgroups of its own,
# with a stacked seccomp filter: what runtime/tests/inspect_criu.rs dumps with real CRIU, and
# what testdata/images/nsbox was dumped from (see testdata/images/MANIFEST.md).
#   BOX=DIR FACETS_CGROUPS="CG..." SECCOMP_EXEC=seccomp_exec.py \
#       unshare --mount --propagation private sh nsbox.sh outer
# Writes what the tools inside see (ip -j, mountinfo, ipcs, cgroup) into $BOX, then becomes
# `sleep 1003` (a session leader, PID 1 of its PID namespace) and prints nothing.
set -eu
case "${1:-}" in
outer)
    # A tmpfs that only this (outer) mount namespace has: bound into the inner one and then
    # unmounted there, it is an external mount CRIU must be told about.
    mkdir -p "$BOX/outer"
    mount -t tmpfs -o size=64k facets-outer "$BOX/outer"
    mkdir "$BOX/outer/sub"
    echo ext > "$BOX/outer/sub/file"
    exec unshare --mount --propagation private --uts --ipc --net --pid --mount-proc \
        --time --monotonic 86400 --boottime 3600 --fork sh "$0" inner
    ;;
inner) ;;
*) echo "usage: nsbox.sh outer" >&2; exit 2 ;;
esac

for cg in $FACETS_CGROUPS; do echo $$ > "$cg/cgroup.procs"; done
hostname facets-box
domainname facets.test

ip link set lo up
# No veth pair inside the namespace: CRIU 4.2.1 dumps one but cannot restore it (it creates
# both ends for the first and then fails on the second with EEXIST). No route through a device
# without carrier either: `ip route restore` replays RTNH_F_LINKDOWN, which the kernel refuses.
# A bridge without ports has carrier; a tap nobody opened has none, so it carries no address.
ip link add br0 type bridge
ip link set br0 up
ip addr add 10.11.12.13/24 dev br0
ip addr add 10.11.12.14/24 dev br0 label br0:sec
ip -6 addr add fd00::5/64 dev br0 nodad
ip addr add 10.0.0.1 peer 10.0.0.2/32 dev br0
ip link add br1 type bridge
ip tuntap add dev tap0 mode tap
ip link set tap0 mtu 1400 master br1 up
ip link set br1 up
ip route add 172.16.0.0/16 via 10.11.12.1 dev br0 metric 50
ip route add 10.99.0.0/16 dev br0 proto static scope link mtu 1300
ip route add 10.60.0.0/16 via 10.11.12.1 advmss 1200 initcwnd 20 congctl cubic
ip route add 10.50.0.0/16 nexthop via 10.11.12.1 dev br0 weight 2 nexthop via 10.11.12.2 dev br0
ip route add default via 10.11.12.1
ip -6 route add fd01::/64 via fd00::1 dev br0
ip rule add from 10.11.12.0/24 table 100 priority 1000
ip rule add fwmark 0x2a/0xff lookup main priority 2000
ip route add 1.2.3.0/24 dev br0 table 100

# Host mounts under /mnt are nothing the scenario needs (and name the host's tooling).
for m in $(awk '$5 ~ "^/mnt/" {print $5}' /proc/self/mountinfo | sort -r); do umount -l "$m"; done
mkdir -p "$BOX/mt/tmp1" "$BOX/mt/bind1" "$BOX/mt/ext1" "$BOX/mt/shared1" "$BOX/mt/slave1" "$BOX/host/data"
echo hi > "$BOX/host/data/file"
mount -t tmpfs -o size=1m,mode=0750 facets-tmp "$BOX/mt/tmp1"
mkdir "$BOX/mt/tmp1/sub"
mount --bind "$BOX/host/data" "$BOX/mt/bind1"
mount --bind -o remount,ro,nosuid "$BOX/mt/bind1"
mount --bind "$BOX/outer/sub" "$BOX/mt/ext1"
umount "$BOX/outer"
mount -t tmpfs -o size=64k facets-shared "$BOX/mt/shared1"
mount --make-shared "$BOX/mt/shared1"
mount --bind "$BOX/mt/shared1" "$BOX/mt/slave1"
mount --make-slave "$BOX/mt/slave1"

ipcmk -M 8192 -p 0640 > "$BOX/ipcmk.out"
ipcmk -S 3 -p 0600 >> "$BOX/ipcmk.out"
ipcmk -Q -p 0666 >> "$BOX/ipcmk.out"

ip -j addr show > "$BOX/ip-addr.json"
ip -j -d link show > "$BOX/ip-link.json"
ip -j route show table main > "$BOX/ip-route.json"
ip -j -6 route show table main > "$BOX/ip-route6.json"
ip -j rule show > "$BOX/ip-rule.json"
cat /proc/self/mountinfo > "$BOX/mountinfo"
ipcs -a > "$BOX/ipcs.txt"
cat /proc/self/cgroup > "$BOX/cgroup.txt"
exec setsid python3 "$SECCOMP_EXEC" sleep 1003 </dev/null >/dev/null 2>&1
