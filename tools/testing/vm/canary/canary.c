// SPDX-License-Identifier: GPL-2.0
/*
 * canary.ko: a test fixture that commits, on request, one kernel bug of each
 * class the test VM's debug kernel (kernel-kit debug) must catch, so the
 * harness can prove that its post-condition really sees them.
 *
 * Never load it outside a throw-away test VM: every trigger is a real bug.
 *
 * Write a trigger's name to /sys/kernel/debug/canary/trigger:
 *
 *   kasan-uaf     read a freed kmalloc object (KASAN)
 *   kasan-oob     read one byte past a kmalloc object (KASAN)
 *   kfence        read a freed object that KFENCE sampled (KFENCE)
 *   leak          lose a kmalloc object (kmemleak, on its next scans)
 *   abba          take two mutexes in both orders (lockdep)
 *   atomic-sleep  allocate with GFP_KERNEL under a spinlock
 *                 (DEBUG_ATOMIC_SLEEP)
 *   ubsan-shift   shift a 32-bit value by 40 (UBSAN)
 *   ubsan-index   index an array past its end (UBSAN)
 *   odebug        free an armed timer (DEBUG_OBJECTS)
 *   hung          a kthread, canary-hung, sleeps uninterruptibly until the
 *                 module is unloaded (hung-task detector)
 *
 * A write returns once the bug was committed; it fails with EINVAL for an
 * unknown name, EBUSY for a second "hung", and EAGAIN when KFENCE sampled
 * none of the allocations it was offered within 10 s.
 */

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/kfence.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timer.h>
#include <linux/uaccess.h>

/*
 * Read with READ_ONCE(), so the compiler can neither warn about the bugs at
 * build time nor fold them away.
 */
static size_t canary_index = 4;
static size_t canary_size = 60;
static unsigned int canary_shift = 40;

static DEFINE_MUTEX(canary_lock_a);
static DEFINE_MUTEX(canary_lock_b);
static DEFINE_SPINLOCK(canary_spin);

/* Protected by canary_hung_lock. */
static DEFINE_MUTEX(canary_hung_lock);
static struct task_struct *canary_hung_task;

static struct dentry *canary_dir;

/**
 * struct canary_bounds - an array with room behind it
 * @a: the array indexed past its end (canary_index is 4)
 * @after: keeps that access inside the object, so only UBSAN, not KASAN,
 *	sees it
 */
static struct canary_bounds {
	int a[4];
	int after[4];
} canary_bounds;

/**
 * struct canary_timer - a timer in a kmalloc'd object
 * @timer: armed far in the future, then freed with the object
 */
struct canary_timer {
	struct timer_list timer;
};

static void canary_timer_fn(struct timer_list *t)
{
}

static int canary_kasan_uaf(void)
{
	char *p = kmalloc(64, GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	kfree(p);
	pr_info("canary: read after free: %d\n",
		READ_ONCE(p[READ_ONCE(canary_index)]));
	return 0;
}

/*
 * kmalloc() of an object KFENCE did not sample: KFENCE catches no read
 * past an object that sits at the start of its page, so a sampled one
 * would hide KASAN's report.  NULL when no allocation succeeded.
 */
static char *canary_kmalloc_no_kfence(size_t size)
{
	char *held[8] = { NULL };
	char *p = NULL;
	int i;

	for (i = 0; i < ARRAY_SIZE(held); i++) {
		p = kmalloc(size, GFP_KERNEL);
		if (!p || !is_kfence_address(p))
			break;
		held[i] = p;
		p = NULL;
	}
	for (i = 0; i < ARRAY_SIZE(held); i++)
		kfree(held[i]);
	return p;
}

static int canary_kasan_oob(void)
{
	size_t size = READ_ONCE(canary_size);
	char *p = canary_kmalloc_no_kfence(size);

	if (!p)
		return -ENOMEM;
	pr_info("canary: read past the end: %d\n", READ_ONCE(p[size]));
	kfree(p);
	return 0;
}

static int canary_kfence(void)
{
	unsigned long end = jiffies + 10 * HZ;
	char *p;

	/* KFENCE takes one allocation per sample interval: wait for ours. */
	do {
		p = kmalloc(32, GFP_KERNEL);
		if (!p)
			return -ENOMEM;
		if (is_kfence_address(p))
			break;
		kfree(p);
		p = NULL;
		cond_resched();
	} while (time_before(jiffies, end));
	if (!p)
		return -EAGAIN;
	kfree(p);
	pr_info("canary: read after free (KFENCE): %d\n",
		READ_ONCE(p[READ_ONCE(canary_index)]));
	return 0;
}

static int canary_leak_fn(void *unused)
{
	char *p = kmalloc(128, GFP_KERNEL);

	if (p)
		strscpy(p, "canary: leaked on purpose", 128);
	/*
	 * Lost on return; the stack of this thread goes with it, so no stale
	 * copy of the pointer hides the leak from kmemleak.
	 */
	return 0;
}

static int canary_leak(void)
{
	struct task_struct *t;

	t = kthread_run(canary_leak_fn, NULL, "canary-leak");
	return PTR_ERR_OR_ZERO(t);
}

static int canary_abba(void)
{
	mutex_lock(&canary_lock_a);
	mutex_lock(&canary_lock_b);
	mutex_unlock(&canary_lock_b);
	mutex_unlock(&canary_lock_a);

	mutex_lock(&canary_lock_b);
	mutex_lock(&canary_lock_a);
	mutex_unlock(&canary_lock_a);
	mutex_unlock(&canary_lock_b);
	return 0;
}

static int canary_atomic_sleep(void)
{
	void *p;

	/*
	 * GFP_KERNEL may sleep in reclaim; it hardly ever does for 16 bytes,
	 * but might_sleep() says so every time.  (A mutex here would make
	 * lockdep report an invalid wait context first.)
	 */
	spin_lock(&canary_spin);
	p = kmalloc(16, GFP_KERNEL);
	spin_unlock(&canary_spin);
	kfree(p);
	return 0;
}

static int canary_ubsan_shift(void)
{
	u32 one = 1;

	pr_info("canary: shifted too far: %u\n", one << READ_ONCE(canary_shift));
	return 0;
}

static int canary_ubsan_index(void)
{
	/*
	 * A plain read: READ_ONCE() would take the element's address, and
	 * the address one past the end is legal C.
	 */
	pr_info("canary: indexed past the end: %d\n",
		canary_bounds.a[READ_ONCE(canary_index)]);
	return 0;
}

static int canary_odebug(void)
{
	struct canary_timer *ct = kzalloc(sizeof(*ct), GFP_KERNEL);

	if (!ct)
		return -ENOMEM;
	timer_setup(&ct->timer, canary_timer_fn, 0);
	mod_timer(&ct->timer, jiffies + 3600 * HZ);
	/* DEBUG_OBJECTS_FREE reports it and deactivates the timer first. */
	kfree(ct);
	return 0;
}

static int canary_hung_fn(void *unused)
{
	for (;;) {
		set_current_state(TASK_UNINTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

static int canary_hung(void)
{
	struct task_struct *t;
	int ret = 0;

	mutex_lock(&canary_hung_lock);
	if (canary_hung_task) {
		ret = -EBUSY;
		goto out;
	}
	t = kthread_run(canary_hung_fn, NULL, "canary-hung");
	if (IS_ERR(t)) {
		ret = PTR_ERR(t);
		goto out;
	}
	get_task_struct(t);
	canary_hung_task = t;
out:
	mutex_unlock(&canary_hung_lock);
	return ret;
}

static const struct {
	const char *name;
	int (*fn)(void);
} canary_triggers[] = {
	{ "kasan-uaf", canary_kasan_uaf },
	{ "kasan-oob", canary_kasan_oob },
	{ "kfence", canary_kfence },
	{ "leak", canary_leak },
	{ "abba", canary_abba },
	{ "atomic-sleep", canary_atomic_sleep },
	{ "ubsan-shift", canary_ubsan_shift },
	{ "ubsan-index", canary_ubsan_index },
	{ "odebug", canary_odebug },
	{ "hung", canary_hung },
};

static ssize_t canary_write(struct file *file, const char __user *ubuf,
			    size_t len, loff_t *ppos)
{
	char buf[32];
	size_t i;
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	strim(buf);
	for (i = 0; i < ARRAY_SIZE(canary_triggers); i++) {
		if (strcmp(buf, canary_triggers[i].name))
			continue;
		pr_info("canary: triggering %s\n", buf);
		ret = canary_triggers[i].fn();
		return ret ? ret : len;
	}
	return -EINVAL;
}

static const struct file_operations canary_fops = {
	.owner = THIS_MODULE,
	.write = canary_write,
	.llseek = noop_llseek,
};

static int __init canary_init(void)
{
	canary_dir = debugfs_create_dir("canary", NULL);
	debugfs_create_file("trigger", 0200, canary_dir, NULL, &canary_fops);
	return 0;
}

static void __exit canary_exit(void)
{
	debugfs_remove_recursive(canary_dir);
	if (canary_hung_task) {
		kthread_stop(canary_hung_task);
		put_task_struct(canary_hung_task);
	}
}

module_init(canary_init);
module_exit(canary_exit);
MODULE_DESCRIPTION("virtio-bridge test fixture: commits kernel bugs the debug kernel must report");
MODULE_LICENSE("GPL");
