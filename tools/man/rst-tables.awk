# SPDX-License-Identifier: GPL-2.0
#
# rst-tables.awk: rst2man's tables made to fit a terminal (tools/man/mkman).
# rst2man boxes every table and puts every cell in a text block (T{ T}),
# which tbl gives a fixed share of the line: identifiers longer than that
# overflow, and the boxes' rules break at page ends.  Here a one-line cell
# is a plain entry (as wide as its text), the last column takes what is
# left, and of the rules only the one under the header row stays.

/^\.TS$/ { intbl = 1; fmt = 0; rules = 0; print; next }
intbl && /^\.TE$/ { intbl = 0; print; next }
intbl && !fmt && /\.$/ && !/;$/ {
	fmt = 1
	gsub(/\|/, " ")
	sub(/l *\.$/, "lx.")
	print
	next
}
intbl && !pending && /^_$/ { if (++rules == 2) print; next }
intbl && !pending && /T\{$/ {
	pre = substr($0, 1, length($0) - 2)
	pending = 1
	n = 0
	next
}
pending && /^T\}/ {
	rest = substr($0, 3)
	if (n == 1) {
		print pre cell[1] rest
	} else {
		print pre "T{"
		for (i = 1; i <= n; i++)
			print cell[i]
		print $0
	}
	pending = 0
	next
}
pending { cell[++n] = $0; next }
{ print }
