#!/bin/sh
# exit-trace.sh: where a killed VMM's exit goes, bridged and without the
# module, twice each: kprobe/kretprobe pairs on the functions of the exit
# path, summed per function (a function running on several threads at
# once, such as the irqfd workers, sums to more than the wall time).
# Runs in a test VM with the module, the halting kernel and the vm3
# overlay that run-bench puts in build/bench/work, for example on arm64:
#
#   tools/testing/vm/vm-run --kvm -k arm64-6.1 -n exittrace -t 300 --mem 3072 \
#     -a build/kmod-arm64-6.1/kmod/virtio_bridge.ko:/root/virtio_bridge.ko \
#     -a build/arm64/vbridge:/root/vbridge \
#     -a build/bench/work/vm3-arm64.dtbo:/root/bench/vm3.dtbo \
#     -a build/bench/work/halt-arm64.img:/root/bench/halt.img \
#     tools/bench/exit-trace.sh
#
# (benchmarks.rst, "Where a killed VMM's exit goes").  Functions a kernel
# cannot probe (inlined) are reported as "# no kprobe NAME".
V=/root/vbridge B=/root/bench
insmod /root/virtio_bridge.ko || exit 1
$V ctl load $B/vm3.dtbo > /dev/null || exit 1
mkdir -p /tmp/st
$V devices --pci-bus-devfd=/dev/virtio/vm3/cvm2rb-pci --state-dir /tmp/st --rng 2>/tmp/prov.err &
P=$!
sleep 3
T=/sys/kernel/tracing
mount -t tracefs tracefs $T 2>/dev/null
cd $T || exit 1
for f in exit_mm exit_files exit_task_work kvm_vm_release kvm_vcpu_release kvm_destroy_vm kvm_irqfd_release irqfd_resampler_shutdown irqfd_shutdown vbridge_fe_release eventfd_release synchronize_srcu synchronize_srcu_expedited synchronize_rcu kvm_arch_destroy_vm kvm_vgic_destroy kvm_free_stage2_pgd kvm_mmu_free_memory_cache __fput exit_notify kvm_io_bus_destroy kvm_free_memslots; do
	echo "p:e_$f $f" >> kprobe_events 2>/dev/null || echo "# no kprobe $f"
	echo "r:r_$f $f" >> kprobe_events 2>/dev/null
done
for mode in bridged inproc bridged inproc; do
	args="--vmid 3"; [ $mode = inproc ] && args=""
	# shellcheck disable=SC2086
	$V run $args --kernel $B/halt.img --mem 64M --serial hardware=serial,num=1,type=sink < /dev/null > /tmp/vmm.log 2>&1 &
	H=$!
	sleep 4
	echo > trace
	echo 1 > events/kprobes/enable
	t0=$(cut -d' ' -f1 /proc/uptime)
	kill -9 $H; wait $H
	t1=$(cut -d' ' -f1 /proc/uptime)
	sleep 1
	echo 0 > events/kprobes/enable
	echo "=== $mode: kill -> reaped $(awk -v a="$t0" -v b="$t1" 'BEGIN{print (b-a)*1000}') ms"
	# pair each return with its entry on the same thread
	awk '
	/ e_|: e_/ { match($0, /[0-9]+\.[0-9]+:/); ts = substr($0, RSTART, RLENGTH - 1); match($0, /e_[a-z_0-9]+/); f = substr($0, RSTART + 2, RLENGTH - 2); split($1, a, "-"); pid = a[length(a)]; k = pid " " f; st[k] = ts; next }
	/ r_|: r_/ { match($0, /[0-9]+\.[0-9]+:/); ts = substr($0, RSTART, RLENGTH - 1); match($0, /r_[a-z_0-9]+/); f = substr($0, RSTART + 2, RLENGTH - 2); split($1, a, "-"); pid = a[length(a)]; k = pid " " f; if (k in st) { d = (ts - st[k]) * 1000; tot[f] += d; n[f]++; if (d > mx[f]) mx[f] = d; delete st[k] } }
	END { for (f in tot) printf "%-28s n=%-4d total %8.2f ms  max %8.2f ms\n", f, n[f], tot[f], mx[f] }' trace | sort -k4 -rn
	sleep 2
done
kill $P; wait $P
$V ctl unload $B/vm3.dtbo > /dev/null 2>&1
rmmod virtio_bridge
