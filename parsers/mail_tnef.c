/*
 * mail_tnef.c — unpack the files (and the plain body, when present) of an
 * Outlook winmail.dat (application/ms-tnef, MS-OXTNEF).
 *
 * Outlook wraps attachments in TNEF when it sends "rich text" to the
 * Internet; without unpacking, a customer's screenshot is an opaque
 * winmail.dat. Read here: attAttachRendData (a new file), attAttachTitle
 * (its name), attAttachData (its bytes), attAttachment (its MAPI
 * properties: the long file name and the MIME type), attOemCodepage and
 * attBody. Everything else (RTF bodies, calendar data) is skipped. Every
 * length is checked against what is left; a malformed stream ends the walk
 * and what was read so far is kept.
 */
#include "mail_internal.h"

#include "helpgate/alloc.h"
#include "helpgate/charset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TNEF_SIGNATURE 0x223E9F78u
#define ATT_OEM_CODEPAGE 0x00069007u
#define ATT_BODY 0x0002800Cu
#define ATT_ATTACH_REND_DATA 0x00069002u
#define ATT_ATTACH_TITLE 0x00018010u
#define ATT_ATTACH_DATA 0x0006800Fu
#define ATT_ATTACHMENT 0x00069005u

#define PT_SHORT 0x0002
#define PT_LONG 0x0003
#define PT_FLOAT 0x0004
#define PT_DOUBLE 0x0005
#define PT_CURRENCY 0x0006
#define PT_APPTIME 0x0007
#define PT_ERROR 0x000A
#define PT_BOOLEAN 0x000B
#define PT_OBJECT 0x000D
#define PT_I8 0x0014
#define PT_STRING8 0x001E
#define PT_UNICODE 0x001F
#define PT_SYSTIME 0x0040
#define PT_CLSID 0x0048
#define PT_BINARY 0x0102
#define MV_FLAG 0x1000

#define PR_ATTACH_LONG_FILENAME 0x3707
#define PR_ATTACH_MIME_TAG 0x370E

#define MAX_PROPERTIES 4096
#define MAX_VALUES 4096

struct reader {
    const unsigned char *p;
    size_t len;
    size_t pos;
};

static bool read_u16(struct reader *r, unsigned *v)
{
    if (r->len - r->pos < 2)
        return false;
    *v = (unsigned)r->p[r->pos] | (unsigned)r->p[r->pos + 1] << 8;
    r->pos += 2;
    return true;
}

static bool read_u32(struct reader *r, uint32_t *v)
{
    if (r->len - r->pos < 4)
        return false;
    const unsigned char *b = r->p + r->pos;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    r->pos += 4;
    return true;
}

static bool skip(struct reader *r, size_t n)
{
    if (r->len - r->pos < n)
        return false;
    r->pos += n;
    return true;
}

/* ------------------------------------------------------------ text */

/* Bytes of a NUL-terminated 8-bit string in CODEPAGE (0: windows-1252) as UTF-8, or NULL when empty. */
static char *string8_text(const unsigned char *s, size_t len, uint32_t codepage)
{
    while (len > 0 && s[len - 1] == '\0')
        len--;
    const unsigned char *nul = memchr(s, '\0', len);
    if (nul != NULL)
        len = (size_t)(nul - s);
    if (len == 0)
        return NULL;
    char label[16];
    snprintf(label, sizeof label, "CP%u", codepage != 0 ? (unsigned)codepage : 1252u);
    struct hg_charset_result res;
    hg_charset_to_utf8(label, s, len, 1024, &res);
    return res.text;
}

static char *unicode_text(const unsigned char *s, size_t len)
{
    len &= ~(size_t)1;
    while (len >= 2 && s[len - 2] == 0 && s[len - 1] == 0)
        len -= 2;
    if (len == 0)
        return NULL;
    struct hg_charset_result res;
    hg_charset_to_utf8("UTF-16LE", s, len, 1024, &res);
    return res.text;
}

/* ------------------------------------------------------------ MAPI properties */

static size_t fixed_size(unsigned type)
{
    switch (type) {
    case PT_SHORT:
    case PT_LONG:
    case PT_FLOAT:
    case PT_ERROR:
    case PT_BOOLEAN:
        return 4;
    case PT_DOUBLE:
    case PT_CURRENCY:
    case PT_APPTIME:
    case PT_I8:
    case PT_SYSTIME:
        return 8;
    case PT_CLSID:
        return 16;
    default:
        return 0;
    }
}

static bool is_variable(unsigned type)
{
    return type == PT_STRING8 || type == PT_UNICODE || type == PT_BINARY || type == PT_OBJECT;
}

/* Skips the name of a named property (id >= 0x8000): a GUID, then a number or a UTF-16 name. */
static bool skip_property_name(struct reader *r)
{
    uint32_t kind, n;
    if (!skip(r, 16) || !read_u32(r, &kind))
        return false;
    if (kind == 0)
        return skip(r, 4);
    return read_u32(r, &n) && n <= r->len && skip(r, (n + 3u) & ~3u);
}

static void take_value(struct tnef_file *f, unsigned id, unsigned type, const unsigned char *v, size_t len,
                       uint32_t codepage)
{
    char *text = NULL;
    if (type == PT_STRING8)
        text = string8_text(v, len, codepage);
    else if (type == PT_UNICODE)
        text = unicode_text(v, len);
    if (text == NULL)
        return;
    char **slot = id == PR_ATTACH_LONG_FILENAME ? &f->long_name
                  : id == PR_ATTACH_MIME_TAG    ? &f->mime_tag
                                                : NULL;
    if (slot != NULL && *slot == NULL)
        *slot = text;
    else
        free(text);
}

/* Reads one property's values; false when the stream cannot be followed any further. */
static bool read_property(struct reader *r, struct tnef_file *f, uint32_t codepage)
{
    unsigned type, id;
    if (!read_u16(r, &type) || !read_u16(r, &id))
        return false;
    if (id >= 0x8000 && !skip_property_name(r))
        return false;
    unsigned base = type & ~(unsigned)MV_FLAG;
    uint32_t count = 1;
    if (((type & MV_FLAG) || is_variable(base)) && !read_u32(r, &count))
        return false;
    if (count > MAX_VALUES)
        return false;
    for (uint32_t k = 0; k < count; k++) {
        if (is_variable(base)) {
            uint32_t n;
            if (!read_u32(r, &n) || n > r->len - r->pos)
                return false;
            if (k == 0)
                take_value(f, id, base, r->p + r->pos, n, codepage);
            size_t pad = (size_t)(((n + 3u) & ~3u) - n);
            if (!skip(r, n))
                return false;
            r->pos += pad < r->len - r->pos ? pad : r->len - r->pos; /* padding may be cut at the end */
        } else {
            size_t size = fixed_size(base);
            if (size == 0 || !skip(r, size))
                return false;
        }
    }
    return true;
}

static void read_attachment_properties(const unsigned char *data, size_t len, struct tnef_file *f,
                                       uint32_t codepage)
{
    struct reader r = {data, len, 0};
    uint32_t count;
    if (!read_u32(&r, &count) || count > MAX_PROPERTIES)
        return;
    for (uint32_t i = 0; i < count; i++)
        if (!read_property(&r, f, codepage))
            return;
}

/* ------------------------------------------------------------ the attribute stream */

static struct tnef_file *new_file(struct tnef *t, size_t max_files)
{
    if (t->n_files >= max_files) {
        t->capped = true;
        return NULL;
    }
    t->files = hg_xrealloc(t->files, (t->n_files + 1) * sizeof *t->files);
    struct tnef_file *f = &t->files[t->n_files++];
    memset(f, 0, sizeof *f);
    return f;
}

bool hg_mail_tnef_decode(const unsigned char *data, size_t len, size_t max_files, struct tnef *t)
{
    memset(t, 0, sizeof *t);
    struct reader r = {data, len, 0};
    uint32_t signature, codepage = 0;
    if (!read_u32(&r, &signature) || signature != TNEF_SIGNATURE || !skip(&r, 2))
        return false;
    struct tnef_file *current = NULL;
    while (r.pos < r.len) {
        uint32_t id, length;
        if (!skip(&r, 1) || !read_u32(&r, &id) || !read_u32(&r, &length) || length > r.len - r.pos) {
            t->malformed = true;
            break;
        }
        const unsigned char *value = r.p + r.pos;
        r.pos += length;
        if (!skip(&r, 2)) /* checksum */
            t->malformed = true;
        if (id == ATT_OEM_CODEPAGE && length >= 4) {
            codepage = (uint32_t)value[0] | (uint32_t)value[1] << 8 | (uint32_t)value[2] << 16 |
                       (uint32_t)value[3] << 24;
        } else if (id == ATT_BODY && t->body == NULL) {
            t->body = value;
            t->body_len = length;
        } else if (id == ATT_ATTACH_REND_DATA) {
            current = new_file(t, max_files);
        } else if (id == ATT_ATTACH_TITLE || id == ATT_ATTACH_DATA || id == ATT_ATTACHMENT) {
            if (current == NULL)
                current = new_file(t, max_files);
            if (current == NULL)
                continue;
            if (id == ATT_ATTACH_TITLE && current->title == NULL)
                current->title = string8_text(value, length, codepage);
            else if (id == ATT_ATTACH_DATA && current->data == NULL) {
                current->data = value;
                current->len = length;
            } else if (id == ATT_ATTACHMENT)
                read_attachment_properties(value, length, current, codepage);
        }
    }
    t->codepage = codepage;
    return t->n_files > 0 || t->body != NULL;
}

void hg_mail_tnef_free(struct tnef *t)
{
    for (size_t i = 0; i < t->n_files; i++) {
        free(t->files[i].title);
        free(t->files[i].long_name);
        free(t->files[i].mime_tag);
    }
    free(t->files);
    memset(t, 0, sizeof *t);
}
