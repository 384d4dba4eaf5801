/* jansson views of the policy and report, for modules that build bigger
 * JSON documents (script result, probe). */
#ifndef NSRUN_POLICY_JSON_H
#define NSRUN_POLICY_JSON_H

#include <jansson.h>

struct policy;
struct report;

json_t *policy_to_json(const struct policy *p);
json_t *report_to_json(const struct report *r, const struct policy *p);

#endif
