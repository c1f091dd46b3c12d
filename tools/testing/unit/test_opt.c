// SPDX-License-Identifier: GPL-2.0
/* Unit tests of user/lib/opt.c: sizes, integers, key=value lists. */
#include <errno.h>
#include <string.h>

#include "lib/log.h"
#include "lib/opt.h"
#include "tap.h"

static void test_size(void)
{
	uint64_t v = 0;

	TAP_EQ_INT(opt_parse_size("4096", &v), 0, "size: plain number");
	TAP_EQ_U64(v, 4096, "size: plain number value");
	TAP_EQ_INT(opt_parse_size("512M", &v), 0, "size: 512M");
	TAP_EQ_U64(v, 512ULL << 20, "size: 512M value");
	TAP_EQ_INT(opt_parse_size("2GiB", &v), 0, "size: 2GiB");
	TAP_EQ_U64(v, 2ULL << 30, "size: 2GiB value");
	TAP_EQ_INT(opt_parse_size("64k", &v), 0, "size: lower-case k");
	TAP_EQ_U64(v, 64 << 10, "size: 64k value");
	TAP_EQ_INT(opt_parse_size("", &v), -EINVAL, "size: empty rejected");
	TAP_EQ_INT(opt_parse_size("M", &v), -EINVAL, "size: unit only rejected");
	TAP_EQ_INT(opt_parse_size("12X", &v), -EINVAL, "size: bad unit rejected");
	TAP_EQ_INT(opt_parse_size("12MBx", &v), -EINVAL, "size: trailing junk rejected");
	TAP_EQ_INT(opt_parse_size("-1", &v), -EINVAL, "size: negative rejected");
	TAP_EQ_INT(opt_parse_size("17179869184G", &v), -ERANGE,
		   "size: overflow after shift rejected");
	TAP_EQ_INT(opt_parse_size("99999999999999999999", &v), -ERANGE,
		   "size: overflow of the number rejected");
}

static void test_ints(void)
{
	uint64_t u = 0;
	int64_t s = 0;

	TAP_EQ_INT(opt_parse_u64("0x10", 255, &u), 0, "u64: hex");
	TAP_EQ_U64(u, 16, "u64: hex value");
	TAP_EQ_INT(opt_parse_u64("256", 255, &u), -ERANGE, "u64: above max");
	TAP_EQ_INT(opt_parse_u64("-1", 255, &u), -EINVAL, "u64: minus sign");
	TAP_EQ_INT(opt_parse_u64(" 1", 255, &u), -EINVAL, "u64: leading space");
	TAP_EQ_INT(opt_parse_u64("1 ", 255, &u), -EINVAL, "u64: trailing space");
	TAP_EQ_INT(opt_parse_s64("-1", -1, 10, &s), 0, "s64: -1 in range");
	TAP_EQ_INT(s, -1, "s64: value");
	TAP_EQ_INT(opt_parse_s64("-2", -1, 10, &s), -ERANGE, "s64: below min");
	TAP_EQ_INT(opt_parse_s64("0x1", -1, 10, &s), -EINVAL, "s64: decimal only");
}

static void test_kv(void)
{
	const char *k, *v;
	struct opt_kv it;
	bool b = false;

	TAP_EQ_INT(opt_kv_init(&it, "hardware=virtio-console,num=1,console,path=/tmp/a=b"),
		   0, "kv: init");
	TAP_EQ_INT(opt_kv_next(&it, &k, &v), 1, "kv: first pair");
	TAP_CHECK(!strcmp(k, "hardware") && !strcmp(v, "virtio-console"),
		  "kv: first key and value");
	TAP_EQ_INT(opt_kv_next(&it, &k, &v), 1, "kv: second pair");
	TAP_CHECK(!strcmp(k, "num") && !strcmp(v, "1"), "kv: num=1");
	TAP_EQ_INT(opt_kv_next(&it, &k, &v), 1, "kv: bare key");
	TAP_CHECK(!strcmp(k, "console") && v == NULL, "kv: bare key has NULL value");
	TAP_EQ_INT(opt_kv_next(&it, &k, &v), 1, "kv: value with '='");
	TAP_CHECK(!strcmp(k, "path") && !strcmp(v, "/tmp/a=b"), "kv: value keeps later '='");
	TAP_EQ_INT(opt_kv_next(&it, &k, &v), 0, "kv: end");
	opt_kv_free(&it);

	TAP_EQ_INT(opt_kv_init(&it, "a=1,,b"), 0, "kv: init with empty pair");
	TAP_EQ_INT(opt_kv_next(&it, &k, &v), 1, "kv: pair before the empty one");
	TAP_EQ_INT(opt_kv_next(&it, &k, &v), -EINVAL, "kv: empty pair rejected");
	opt_kv_free(&it);

	TAP_EQ_INT(opt_kv_init(&it, "a=1,"), 0, "kv: init with trailing comma");
	TAP_EQ_INT(opt_kv_next(&it, &k, &v), -EINVAL, "kv: trailing comma rejected");
	opt_kv_free(&it);

	TAP_EQ_INT(opt_parse_bool(NULL, &b), 0, "bool: bare key");
	TAP_CHECK(b, "bool: bare key is true");
	TAP_EQ_INT(opt_parse_bool("off", &b), 0, "bool: off");
	TAP_CHECK(!b, "bool: off is false");
	TAP_EQ_INT(opt_parse_bool("maybe", &b), -EINVAL, "bool: junk rejected");
}

/* opt_check_names(): full spellings, values skipped, foreign options. */
static void test_check_names(void)
{
	static const struct option opts[] = {
		{ "netmask", required_argument, NULL, 1 },
		{ "rng", no_argument, NULL, 2 },
		{ "pci-host-dt", required_argument, NULL, 3 },
		{ NULL, 0, NULL, 0 },
	};
	static const struct opt_foreign foreign[] = {
		{ "net", "use --tap" }, { "gpu", NULL }, { NULL, NULL },
	};
#define CHECK(...) opt_check_names(sizeof((char *[]){ "t", __VA_ARGS__ }) / sizeof(char *), \
				   (char *[]){ "t", __VA_ARGS__ }, ":vc:", opts, foreign, "other", "t")

	TAP_EQ_INT(CHECK("--netmask", "1", "--rng", "x"), 0, "names: full spellings pass");
	TAP_EQ_INT(CHECK("--netmask=--net", "--rng"), 0, "names: a value after = is skipped");
	TAP_EQ_INT(CHECK("--netmask", "--net"), 0, "names: the next argument as a value is skipped");
	TAP_EQ_INT(CHECK("-c", "--net"), 0, "names: a short option's value is skipped");
	TAP_EQ_INT(CHECK("-vc", "--net"), 0, "names: ... also after flags in one word");
	TAP_EQ_INT(CHECK("-c--net", "--rng"), 0, "names: a glued short value is not an option");
	TAP_EQ_INT(CHECK("--", "--net"), 0, "names: nothing after --");
	TAP_EQ_INT(CHECK("--net", "--help"), 0, "names: --help wins");
	TAP_EQ_INT(CHECK("--net"), -1, "names: a foreign option refused");
	TAP_EQ_INT(CHECK("--gpu=x"), -1, "names: a foreign option with = refused");
	TAP_EQ_INT(CHECK("--rng", "--netm", "1"), -1, "names: an abbreviation refused");
	TAP_EQ_INT(CHECK("--pci_host_dt", "x"), -1, "names: '_' for '-' refused");
	TAP_EQ_INT(CHECK("--bogus"), -1, "names: an unknown option refused");
	TAP_EQ_INT(CHECK("--rng=yes"), -1, "names: a value for a flag refused");
	TAP_EQ_INT(CHECK("-x", "--rng"), 0, "names: unknown short options are getopt's");
#undef CHECK
}

int main(void)
{
	log_set_prefix("test_opt (expected errors)");
	test_size();
	test_ints();
	test_kv();
	test_check_names();
	return tap_done();
}
