/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading an overlay file: a flattened blob (.dtbo/.dtb) is read as is;
 * anything else is device-tree source and is compiled with
 * `dtc -@ -I dts -O dtb` (dtc from $VBRIDGE_DTC, else from PATH).
 */
#ifndef VBRIDGE_CTL_OVERLAY_H
#define VBRIDGE_CTL_OVERLAY_H

#include <stddef.h>

/* Largest blob or source accepted. */
#define OVERLAY_MAX_SIZE	(16u << 20)

/*
 * Read the regular file path, at most OVERLAY_MAX_SIZE bytes, into a
 * malloc'ed buffer; err names the file when it cannot be read.
 */
int overlay_read_file(const char *path, char **buf, size_t *len, char *err,
		      size_t errlen);

/*
 * Load path into a malloc'ed blob.  Returns 0, -ENOENT/-EACCES/... when
 * the file cannot be read, -EINVAL when it is too large or dtc refused it,
 * -ENOEXEC when dtc cannot be run; err says what happened.
 */
int overlay_read(const char *path, void **blob, size_t *size, char *err, size_t errlen);

/* The same for source text already in memory (name is used in messages). */
int overlay_compile(const char *name, const char *src, size_t len, void **blob,
		    size_t *size, char *err, size_t errlen);

#endif
