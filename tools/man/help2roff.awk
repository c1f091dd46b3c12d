# SPDX-License-Identifier: GPL-2.0
#
# help2roff.awk: a `vbridge ... --help` text to man(7) source, so that the
# manual pages say what --help says (tools/man/mkman puts the result into
# a page's hand-written frame).
#
#   awk -v mode=top -f help2roff.awk    the command of the page: "Usage:"
#                                        becomes SYNOPSIS, the rest
#                                        DESCRIPTION with its headers as .SS
#   awk -v mode=sub -f help2roff.awk    a subcommand within a page: one .SS
#                                        named by its usage line
#
# What it reads (the layout every --help text of vbridge keeps):
#   "Usage: ..." and the lines under it up to a blank line;
#   paragraphs at column 0;
#   a header: a column-0 line ending in ':' after a blank line, with
#   text under it ("Options:", "Devices (...):");
#   items: an indented term ("--mem SIZE", "-n, --dry-run", "run") and
#   its description, after two spaces or on the lines below, which are
#   indented further; a term may go on over lines that start with '[' or
#   ','; lines indented deeper than the description are examples;
#   under a header that starts with "Example", and for an indented line
#   that is no item, lines as they are.

function indent(s) {
	match(s, /^ */)
	return RLENGTH
}

function trim(s) {
	sub(/^ +/, "", s)
	sub(/ +$/, "", s)
	return s
}

# Text as roff: backslashes and minus signs escaped, no line that a
# leading '.' or '\'' would make a request.
function esc(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	if (s ~ /^[.']/)
		s = "\\&" s
	return s
}

function quoted(s) {
	gsub(/"/, "\\(dq", s)
	return "\"" esc(s) "\""
}

# Leave .nf / an example's indentation before anything else is written.
function end_verbatim() {
	if (in_nf) {
		print ".fi"
		in_nf = 0
	}
	if (in_rs) {
		print ".RE"
		in_rs = 0
	}
}

function verbatim(s, base) {
	if (!in_nf) {
		if (base) {
			print ".RS " base
			in_rs = 1
		}
		print ".nf"
		in_nf = 1
	}
	print esc(s)
}

function paragraph() {
	end_verbatim()
	print ".PP"
	in_item = 0
}

function header(s) {
	end_verbatim()
	sub(/:$/, "", s)
	in_item = 0
	if (mode == "sub") {
		print ".PP"
		print "\\fB" esc(s) "\\fR"
		print ".br"
	} else {
		print ".SS " quoted(s)
	}
}

# An item at line i: its term (and description when on the same line);
# returns the index of the last line it took.
function item(i,    s, ind, col, term, desc, j, n, k, body, t) {
	s = line[i]
	ind = indent(s)
	j = i
	term = trim(s)
	# the term goes on over lines that start with '[' or ','
	while (j + 1 <= nr && trim(line[j + 1]) ~ /^[[,]/ &&
	       indent(line[j + 1]) > ind) {
		j++
		term = term " " trim(line[j])
	}
	desc = ""
	col = 0
	if (j + 1 <= nr && line[j + 1] != "" && indent(line[j + 1]) > ind)
		col = indent(line[j + 1])
	if (j == i) {
		if (col && length(s) > col && substr(s, col, 1) == " " &&
		    substr(s, col + 1, 1) != " ") {
			# the description starts in the column of the lines below
			term = trim(substr(s, 1, col))
			desc = trim(substr(s, col + 1))
		} else if (match(term, /  +/)) {
			desc = trim(substr(term, RSTART))
			term = substr(term, 1, RSTART - 1)
		}
	}
	end_verbatim()
	print ".TP"
	print "\\fB" esc(term) "\\fR"
	if (desc != "")
		print esc(desc)
	# examples are indented deeper than the description
	body = desc != "" ? index(s, desc) - 1 : col
	for (k = j + 1; k <= nr && line[k] != "" && indent(line[k]) > ind; k++) {
		t = line[k]
		if (indent(t) > body) {
			verbatim(substr(t, body + 1), 0)
		} else {
			end_verbatim()
			print esc(trim(t))
		}
	}
	in_item = 1
	return k - 1
}

{ line[++nr] = $0 }

END {
	i = 1
	while (i <= nr) {
		s = line[i]
		if (s == "") {
			end_verbatim()
			examples = 0
			pp = 1
			i++
			continue
		}
		if (s ~ /^Usage: /) {
			u = s
			sub(/^Usage: +/, "", u)
			if (mode == "sub") {
				split(u, w, " ")
				print ".SS " quoted(w[1] " " w[2] " " w[3])
			} else {
				print ".SH SYNOPSIS"
			}
			print ".nf"
			print esc(u)
			for (i++; i <= nr && line[i] != ""; i++)
				print esc(trim(line[i]))
			print ".fi"
			if (mode != "sub")
				print ".SH DESCRIPTION"
			pp = 0
			started = 1
			continue
		}
		if (indent(s) == 0 && s ~ /:$/ && (pp || i == 1) &&
		    i < nr && line[i + 1] != "") {
			# a header directly over another one only names it
			if (!(line[i + 1] ~ /^[^ ].*:$/))
				header(s)
			examples = s ~ /^Example/
			pp = 0
			i++
			continue
		}
		if (pp && started) {
			paragraph()
			pp = 0
		}
		if (examples) {
			verbatim(substr(s, 3), 0)
			i++
			continue
		}
		if (indent(s) == 0) {
			if (in_item || in_nf)
				paragraph()
			print esc(s)
			i++
			continue
		}
		# indented: an item, or a line to keep as it is
		n = indent(s)
		if (trim(s) ~ /  / || (i < nr && indent(line[i + 1]) > n &&
		    line[i + 1] != "")) {
			i = item(i) + 1
			continue
		}
		if (in_item)
			paragraph()
		verbatim(trim(s), 4)
		i++
	}
	end_verbatim()
}
