// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs: creation (the architecture's state: arch_vcpu_init), the thread
 * and its KVM_RUN loop with the exits every architecture shares (MMIO,
 * system events, KVM errors), kicks and joins.
 */
#include "vmm/vmm.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/log.h"

#define VCPU_KICK_SIGNAL	SIGUSR1

int vcpu_create(struct vmm *vm, struct vcpu *c, unsigned int id)
{
	int sz;

	memset(c, 0, sizeof(*c));
	c->vm = vm;
	c->id = id;
	c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (c->fd < 0) {
		log_errno("KVM_CREATE_VCPU %u", id);
		return -1;
	}
	sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run)) {
		log_errno("KVM_GET_VCPU_MMAP_SIZE");
		return -1;
	}
	c->run_size = sz;
	c->run = mmap(NULL, c->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      c->fd, 0);
	if (c->run == MAP_FAILED) {
		c->run = NULL;
		log_errno("vCPU %u: mmap of kvm_run", id);
		return -1;
	}
	return arch_vcpu_init(c);
}

void vcpu_destroy(struct vcpu *c)
{
	if (c->run)
		munmap(c->run, c->run_size);
	if (c->fd > 0)
		close(c->fd);
	c->run = NULL;
	c->fd = -1;
}

/*
 * vCPU c's registers on stderr, in one piece: the dump is many writes, and
 * every vCPU thread dumps at once when -vv stops a VM.
 */
static void vcpu_dump(struct vcpu *c)
{
	flockfile(stderr);
	arch_vcpu_dump(c);
	funlockfile(stderr);
}

void vcpu_crash(struct vcpu *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Only the first failure is worth a dump; the rest are fallout. */
	if (vmm_stopping(c->vm))
		return;
	log_error("vCPU %u: %s", c->id, msg);
	vcpu_dump(c);
	vmm_request_exit(c->vm, VMM_EXIT_CRASH);
}

static void vcpu_exit_mmio(struct vcpu *c)
{
	struct kvm_run *run = c->run;
	struct io_access a = {
		.addr = run->mmio.phys_addr,
		.len = run->mmio.len,
		.write = run->mmio.is_write,
	};

	if (a.len > 8)
		return;
	if (a.write)
		memcpy(&a.val, run->mmio.data, a.len);
	if (!io_bus_dispatch(&c->vm->mmio, &a) && log_verbose() > 1)
		log_debug("vCPU %u: unclaimed MMIO %s of %u bytes at 0x%llx",
			  c->id, a.write ? "store" : "load", a.len,
			  (unsigned long long)a.addr);
	if (!a.write)
		memcpy(run->mmio.data, &a.val, a.len);
}

static void vcpu_exit_system_event(struct vcpu *c)
{
	switch (c->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vmm_request_exit(c->vm, VMM_EXIT_POWEROFF);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vmm_request_exit(c->vm, VMM_EXIT_RESET);
		break;
	default:
		vcpu_crash(c, "guest crashed (KVM system event %u)",
			   c->run->system_event.type);
	}
}

static void vcpu_exit_internal(struct vcpu *c)
{
	struct kvm_run *run = c->run;
	char data[200] = "";
	unsigned int i, n = run->internal.ndata;
	size_t len = 0;

	if (n > sizeof(run->internal.data) / sizeof(run->internal.data[0]))
		n = sizeof(run->internal.data) / sizeof(run->internal.data[0]);
	for (i = 0; i < n && len < sizeof(data) - 24; i++)
		len += snprintf(data + len, sizeof(data) - len, "%s0x%llx",
				i ? " " : "; data ",
				(unsigned long long)run->internal.data[i]);
	vcpu_crash(c, "KVM internal error, suberror %u%s%s",
		   run->internal.suberror,
		   run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
		   " (instruction emulation failed)" : "", data);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *c = arg;
	struct kvm_run *run = c->run;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", c->id);
	pthread_setname_np(pthread_self(), name);

	while (!vmm_stopping(c->vm)) {
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vcpu_crash(c, "KVM_RUN failed: %s", strerror(errno));
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_MMIO:
			vcpu_exit_mmio(c);
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			vcpu_exit_system_event(c);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			vcpu_exit_internal(c);
			break;
		case KVM_EXIT_FAIL_ENTRY:
			vcpu_crash(c, "KVM could not enter the guest, hardware reason 0x%llx",
				   (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			break;
		default:
			if (!arch_vcpu_exit(c))
				vcpu_crash(c, "unexpected KVM exit reason %u",
					   run->exit_reason);
		}
	}
	if (log_verbose() > 1 &&
	    atomic_load(&c->vm->exit_reason) != VMM_EXIT_CRASH)
		vcpu_dump(c);
	return NULL;
}

static void vcpu_kick_handler(int sig)
{
	(void)sig;	/* only here to interrupt KVM_RUN */
}

int vcpu_start(struct vcpu *c)
{
	struct sigaction sa;
	sigset_t set, old;
	int err;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu_kick_handler;	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);

	/* The vCPU thread takes the kick signal and faults, nothing else. */
	sigfillset(&set);
	sigdelset(&set, VCPU_KICK_SIGNAL);
	sigdelset(&set, SIGSEGV);
	sigdelset(&set, SIGBUS);
	sigdelset(&set, SIGFPE);
	sigdelset(&set, SIGILL);
	pthread_sigmask(SIG_SETMASK, &set, &old);
	err = pthread_create(&c->thread, NULL, vcpu_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		errno = err;
		log_errno("vCPU %u: cannot create its thread", c->id);
		return -1;
	}
	c->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *c)
{
	if (!c->started)
		return;
	__atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(c->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *c)
{
	if (!c->started)
		return;
	pthread_join(c->thread, NULL);
	c->started = false;
}
