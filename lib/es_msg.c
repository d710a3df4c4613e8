#include "es_msg.h"

#include <string.h>

#include "es_msg_fr.inc"

const char *es_msg(bool french, const char *msgid)
{
	size_t lo = 0, hi = MSG_FR_COUNT;

	if (!french || msgid == NULL)
		return msgid;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(msgid, msg_fr_blob + msg_fr_index[mid][0]);

		if (c == 0)
			return msg_fr_blob + msg_fr_index[mid][1];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return msgid;
}

size_t es_msg_count(void)
{
	return MSG_FR_COUNT;
}
