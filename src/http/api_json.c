/*
 * api_json.c — record → JSON renderers shared by the API (see api_json.h).
 */
#include "http/api_json.h"
#include "desk/view.h"

json_t *api_json_ticket(const struct ticket *t, const struct customer *c)
{
    return view_ticket(t, c);
}

json_t *api_json_entry(const struct thread_entry *te)
{
    return view_entry(te);
}

/* json_string refuses invalid UTF-8; config text is checked at load, but
 * a renderer must never return NULL. */
static json_t *str(const char *s)
{
    json_t *v = jx_str_or_null(s);
    return v != NULL ? v : json_null();
}

json_t *api_json_agent(const struct cfg_agent *a, const struct agent_state *st,
                       int64_t active_tickets)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", str(a->id));
    json_object_set_new(o, "name", str(a->name ? a->name : a->id));
    json_object_set_new(o, "telegram_user_id", json_integer(a->tg_user_id));
    json_object_set_new(o, "username", str(a->username));
    json_t *groups = json_array();
    for (size_t i = 0; i < a->ngroups; i++)
        json_array_append_new(groups, str(a->groups[i]));
    json_object_set_new(o, "groups", groups);
    json_object_set_new(o, "capacity", json_integer(a->capacity));
    const char *avail = st != NULL ? agent_avail_name(st->availability)
                                   : (a->availability ? a->availability : "online");
    json_object_set_new(o, "availability", str(avail));
    json_object_set_new(o, "active_tickets", json_integer(active_tickets));
    json_object_set_new(o, "changed_at", jx_time_or_null(st ? st->changed_at : 0));
    json_object_set_new(o, "last_assigned_at",
                        jx_time_or_null(st ? st->last_assigned_at : 0));
    return o;
}
