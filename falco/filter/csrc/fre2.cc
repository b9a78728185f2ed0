// SPDX-License-Identifier: Apache-2.0
//
// fre2: RE2 behind a C interface (see fre2.h). RE2 matches in time linear
// in the text and never backtracks, so no pattern can pin a CPU.

#include "fre2.h"

#include <cstring>
#include <new>

#include <re2/re2.h>

struct fre2 {
	re2::RE2 re;

	fre2(const char *pattern, size_t len, const re2::RE2::Options &opts)
		: re(re2::StringPiece(pattern, len), opts)
	{
	}
};

static void copy_error(char *err, size_t errlen, const char *msg)
{
	if (errlen == 0)
		return;
	std::strncpy(err, msg, errlen - 1);
	err[errlen - 1] = '\0';
}

extern "C" struct fre2 *fre2_compile(const char *pattern, size_t len,
				     char *err, size_t errlen)
{
	re2::RE2::Options opts(re2::RE2::POSIX);
	opts.set_log_errors(false);
	fre2 *re = new (std::nothrow) fre2(pattern, len, opts);
	if (re == nullptr) {
		copy_error(err, errlen, "out of memory");
		return nullptr;
	}
	if (!re->re.ok()) {
		copy_error(err, errlen, re->re.error().c_str());
		delete re;
		return nullptr;
	}
	return re;
}

extern "C" int fre2_full_match(const struct fre2 *re, const char *text,
			       size_t len)
{
	re2::StringPiece s(text, len);
	return re->re.Match(s, 0, len, re2::RE2::ANCHOR_BOTH, nullptr, 0);
}

extern "C" void fre2_free(struct fre2 *re)
{
	delete re;
}
