/*
 * test_agent.c — availability names and who can take a ticket.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "desk/agent.h"

Test(agent, availability_names)
{
    enum agent_avail a;
    cr_assert_eq(agent_avail_parse("away", &a, NULL), 0);
    cr_assert_eq(a, AGENT_AWAY);
    struct err e = {0};
    cr_assert_eq(agent_avail_parse("busy", &a, &e), ERR_INVAL);
    cr_assert(strstr(e.msg, "'busy'") != NULL);
    cr_assert_str_eq(e.field, "availability");
}

Test(agent, only_online_agents_under_capacity_take_tickets)
{
    cr_assert(agent_can_take(AGENT_ONLINE, 0, 3));
    cr_assert(agent_can_take(AGENT_ONLINE, 2, 3));
    cr_assert_not(agent_can_take(AGENT_ONLINE, 3, 3));
    cr_assert_not(agent_can_take(AGENT_AWAY, 0, 3));
    cr_assert_not(agent_can_take(AGENT_OFFLINE, 0, 3));
    cr_assert(agent_can_take(AGENT_ONLINE, 1000, 0), "capacity 0 is unlimited");
}
