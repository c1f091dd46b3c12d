// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the device daemon's in-flight file (user/bridge/state_file.c):
 * where it goes, that what is written to it survives the process's end
 * (a reopen finds it), and every file or directory it must refuse to trust
 * because someone else could write it: group/other permissions, another
 * owner, symbolic links, extra hard links, not a regular file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge/state_file.h"
#include "tap.h"
#include "vtest.h"

static char top[64], dir[128], path[192];

static void rm_rf(void)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd))
		printf("# cleanup of %s failed\n", top);
}

static void fresh(void)
{
	rm_rf();
	mkdir(top, 0700);
}

/* Open the standard file; want: 0, or the error it must be refused with. */
static void refused(const char *what, int want)
{
	struct state_file sf;
	char msg[160];
	int ret;

	ret = state_file_open(&sf, dir, 3, "cvm2rb-pci", 4096);
	snprintf(msg, sizeof(msg), "%s: %s", want ? "refused" : "accepted", what);
	TAP_EQ_INT(ret, want, msg);
	if (want) {
		snprintf(msg, sizeof(msg), "refused: %s: nothing mapped", what);
		TAP_CHECK(!sf.mem && sf.fd < 0, msg);
	} else {
		snprintf(msg, sizeof(msg), "%s: mapped", what);
		TAP_CHECK(sf.mem && sf.fd >= 0, msg);
	}
	if (!ret)
		state_file_close(&sf);
}

static void test_choose(void)
{
	unsetenv("VBRIDGE_STATE_DIR");
	TAP_CHECK(!strcmp(state_dir_choose(NULL), "/run/vbridge"), "choose: default /run/vbridge");
	setenv("VBRIDGE_STATE_DIR", "/tmp/x", 1);
	TAP_CHECK(!strcmp(state_dir_choose(NULL), "/tmp/x"), "choose: $VBRIDGE_STATE_DIR");
	TAP_CHECK(!strcmp(state_dir_choose("/srv"), "/srv"), "choose: the option wins");
	setenv("VBRIDGE_STATE_DIR", "", 1);
	TAP_CHECK(!strcmp(state_dir_choose(""), "/run/vbridge"), "choose: empty means unset");
	unsetenv("VBRIDGE_STATE_DIR");
}

static void test_open(void)
{
	struct state_file sf;
	struct stat st;

	fresh();
	TAP_EQ_INT(state_file_open(&sf, dir, 3, "cvm2rb-pci", 4096), 0,
		   "open: creates directory and file");
	TAP_CHECK(!strcmp(sf.path, path), "open: named vm<N>-<name>.inflight");
	TAP_CHECK(!stat(dir, &st) && (st.st_mode & 07777) == 0700, "open: directory mode 0700");
	TAP_CHECK(!stat(path, &st) && (st.st_mode & 07777) == 0600 && st.st_size == 4096,
		  "open: file mode 0600, the size asked for");
	memset(sf.mem, 0x5a, 4096);
	state_file_close(&sf);
	TAP_CHECK(!sf.mem && sf.fd < 0, "close: unmapped and closed");
	TAP_CHECK(!access(path, F_OK), "close: the file stays for the next daemon");

	TAP_EQ_INT(state_file_open(&sf, dir, 3, "cvm2rb-pci", 4096), 0, "reopen");
	TAP_CHECK(((uint8_t *)sf.mem)[0] == 0x5a && ((uint8_t *)sf.mem)[4095] == 0x5a,
		  "reopen: what the last process wrote is there");
	state_file_close(&sf);
	TAP_EQ_INT(state_file_open(&sf, dir, 3, "cvm2rb-pci", 8192), 0, "reopen larger");
	TAP_CHECK(!stat(path, &st) && st.st_size == 8192, "reopen larger: resized");
	TAP_EQ_INT(((uint8_t *)sf.mem)[8191], 0, "reopen larger: the new part is zero");
	state_file_close(&sf);
}

static void test_refused(void)
{
	char other[192];
	int fd;

	fresh();
	mkdir(dir, 0777);
	chmod(dir, 0777);
	refused("a directory others can write", -EPERM);
	chmod(dir, 0750);
	refused("a directory its group can read (not write) is fine", 0);
	chmod(dir, 0770);
	refused("a directory its group can write", -EPERM);

	fresh();
	snprintf(other, sizeof(other), "%s/real", top);
	mkdir(other, 0700);
	if (symlink(other, dir))
		abort();
	refused("a directory that is a symbolic link", -EINVAL);

	fresh();
	if (close(open(dir, O_CREAT | O_WRONLY, 0600)))
		abort();
	refused("a directory that is a file", -EINVAL);

	fresh();
	refused("first open", 0);
	chmod(path, 0644);
	refused("a file others can read", -EPERM);
	chmod(path, 0660);
	refused("a file its group can write", -EPERM);
	chmod(path, 0600);
	refused("back to 0600", 0);

	snprintf(other, sizeof(other), "%s/link", top);
	if (link(path, other))
		abort();
	refused("a file with another hard link", -EPERM);
	unlink(other);

	unlink(path);
	fd = open(other, O_CREAT | O_WRONLY, 0600);
	close(fd);
	if (symlink(other, path))
		abort();
	refused("a file that is a symbolic link", -ELOOP);
	unlink(path);

	mkfifo(path, 0600);
	refused("a file that is a FIFO", -EINVAL);
	unlink(path);

	if (geteuid() == 0) {
		refused("new file", 0);
		if (chown(path, 1234, 1234))
			abort();
		refused("a file of another user", -EPERM);
		unlink(path);
		if (chown(dir, 1234, 1234))
			abort();
		refused("a directory of another user", -EPERM);
	} else {
		VT_SKIP("files of another user: needs root to make them");
		VT_SKIP("files of another user: needs root to make them");
		VT_SKIP("directories of another user: needs root to make them");
		VT_SKIP("directories of another user: needs root to make them");
	}

	fresh();
	snprintf(dir, sizeof(dir), "%s/no/such/parent", top);
	refused("a directory whose parent is missing", -ENOENT);
	snprintf(dir, sizeof(dir), "%s/state", top);
}

int main(void)
{
	snprintf(top, sizeof(top), "/tmp/vbridge-state-test-%d", (int)getpid());
	snprintf(dir, sizeof(dir), "%s/state", top);
	snprintf(path, sizeof(path), "%s/vm3-cvm2rb-pci.inflight", dir);
	test_choose();
	test_open();
	test_refused();
	rm_rf();
	return tap_done();
}
