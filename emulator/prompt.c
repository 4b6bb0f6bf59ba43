/* prompt.c - the validated essence of a request body (see prompt.h). */
#include "prompt.h"

#include <stdlib.h>
#include <string.h>

void emu_prompt_free(emu_prompt *p)
{
    if (!p)
        return;
    json_decref(p->root);
    free(p->question);
    free(p->stops);
    memset(p, 0, sizeof(*p));
}
