/*
 * routes.c — every route the dashboards answer, in one table.
 *
 * Who may call what (access.h): viewers get the pages and the aggregate
 * documents of their studies; participant-level rows (the completion grid,
 * alert lists, trajectories, scatter points, timelines) are researcher
 * routes, each read audited; exports also need an API token's export
 * scope; the acknowledgement of a safety flag is a researcher's write
 * (CSRF-checked for sessions). Every {study} route is membership-checked by
 * acc_authorize() before the handler runs.
 */
#include "access.h"
#include "dash_int.h"

#define PAGE_VIEWER     (ACC_VIEWER | ACC_PAGE | ACC_SESSION_ONLY)
#define PAGE_RESEARCHER (ACC_RESEARCHER | ACC_PAGE | ACC_SESSION_ONLY)
#define EXPORT          (ACC_RESEARCHER | ACC_SCOPE_EXPORT)
#define STUDY_API       "/api/v1/studies/{study}/dashboard"
#define STUDY_EXPORT    "/api/v1/studies/{study}/export"

const struct http_route dash_routes[] = {
    /* Pages (pages.c). */
    {"GET", "/dashboards", PAGE_VIEWER, HTTP_BODY_NONE, 0, dash_page, "page: Studies"},
    {"GET", "/dashboards/{study}", PAGE_VIEWER, HTTP_BODY_NONE, 0, dash_page, "page: Overview"},
    {"GET", "/dashboards/{study}/overview", PAGE_VIEWER, HTTP_BODY_NONE, 0, dash_page,
     "page: Overview"},
    {"GET", "/dashboards/{study}/outcomes", PAGE_VIEWER, HTTP_BODY_NONE, 0, dash_page,
     "page: Outcomes"},
    {"GET", "/dashboards/{study}/engagement", PAGE_VIEWER, HTTP_BODY_NONE, 0, dash_page,
     "page: Engagement"},
    {"GET", "/dashboards/{study}/quality", PAGE_VIEWER, HTTP_BODY_NONE, 0, dash_page,
     "page: Data quality"},
    {"GET", "/dashboards/{study}/exports", PAGE_RESEARCHER, HTTP_BODY_NONE, 0, dash_page,
     "page: Exports (researchers)"},
    {"GET", "/dashboards/{study}/participants/{code}", PAGE_RESEARCHER, HTTP_BODY_NONE, 0,
     dash_page, "page: one participant (researchers)"},
    {"GET", "/vendor/chart.umd.min.js", ACC_PUBLIC, HTTP_BODY_NONE, 0, dash_vendor_chart,
     "Chart.js as package-lock.json pins it"},
    {"GET", "/vendor/report.css", ACC_PUBLIC, HTTP_BODY_NONE, 0, dash_report_css,
     "the claim report's stylesheet"},

    /* JSON: aggregates (viewers and up). */
    {"GET", "/api/v1/dashboard/studies", ACC_VIEWER, HTTP_BODY_NONE, 0, dash_api_studies,
     "studies with enrolment, retention and the latest headline"},
    {"GET", STUDY_API "/changes", ACC_VIEWER, HTTP_BODY_NONE, 0, dash_api_changes,
     "the study's data version (poll it)"},
    {"GET", STUDY_API "/overview", ACC_VIEWER, HTTP_BODY_NONE, 0, dash_api_overview,
     "enrolment, flow, statuses by week, alert counts"},
    {"GET", STUDY_API "/outcomes", ACC_VIEWER, HTTP_BODY_NONE, 0, dash_api_outcomes,
     "means by week (observed, model), bands, pre/post, claims (?instrument=)"},
    {"GET", STUDY_API "/engagement", ACC_VIEWER, HTTP_BODY_NONE, 0, dash_api_engagement,
     "active participants, events, weekly use, engagement vs change"},
    {"GET", STUDY_API "/quality", ACC_VIEWER, HTTP_BODY_NONE, 0, dash_api_quality,
     "missed and late, refusals, duplicates, silent participants"},

    /* JSON: participant-level (researchers and up; audited). */
    {"GET", STUDY_API "/completion", ACC_RESEARCHER, HTTP_BODY_NONE, 0, dash_api_completion,
     "the completion grid, a page of participants"},
    {"GET", STUDY_API "/alerts", ACC_RESEARCHER, HTTP_BODY_NONE, 0, dash_api_alerts,
     "unacknowledged safety flags and inactive participants"},
    {"POST", STUDY_API "/alerts/{response}/acknowledge", ACC_RESEARCHER, HTTP_BODY_JSON, 8192,
     dash_api_acknowledge, "acknowledge a safety flag (audited)"},
    {"GET", STUDY_API "/outcomes/individual", ACC_RESEARCHER, HTTP_BODY_NONE, 0,
     dash_api_outcomes_individual, "trajectories and Jacobson-Truax points"},
    {"GET", STUDY_API "/engagement/points", ACC_RESEARCHER, HTTP_BODY_NONE, 0,
     dash_api_engagement_points, "each completer's engagement and change"},
    {"GET", STUDY_API "/quality/participants", ACC_RESEARCHER, HTTP_BODY_NONE, 0,
     dash_api_quality_participants, "participants without app events"},
    {"GET", "/api/v1/studies/{study}/participants/{code}/timeline", ACC_RESEARCHER, HTTP_BODY_NONE,
     0, dash_api_timeline, "one participant's questionnaires and app use"},

    /* Exports (researchers and up, export scope; audited; streamed). */
    {"GET", STUDY_EXPORT "/responses-long.csv", EXPORT, HTTP_BODY_NONE, 0, dash_export_long,
     "responses, one row per item answer or score"},
    {"GET", STUDY_EXPORT "/responses-wide.csv", EXPORT, HTTP_BODY_NONE, 0, dash_export_wide,
     "responses, one row per participant"},
    {"GET", STUDY_EXPORT "/codebook.csv", EXPORT, HTTP_BODY_NONE, 0, dash_export_codebook,
     "every column of the response files, described"},
    {"GET", STUDY_EXPORT "/events.csv", EXPORT, HTTP_BODY_NONE, 0, dash_export_events,
     "app events"},
    {"GET", STUDY_EXPORT "/analysis.json", EXPORT, HTTP_BODY_NONE, 0, dash_export_analysis,
     "the newest analysis run of each kind"},
    {"GET", STUDY_EXPORT "/claims.csv", EXPORT, HTTP_BODY_NONE, 0, dash_export_report,
     "the claim table of the newest outcomes run"},
    {"GET", STUDY_EXPORT "/report.html", EXPORT, HTTP_BODY_NONE, 0, dash_export_report_html,
     "the claim report, as attune report writes it (?instrument=, ?claim=)"},
    {"GET", STUDY_EXPORT "/report.json", EXPORT, HTTP_BODY_NONE, 0, dash_export_report_json,
     "the claim report's document"},
};
const size_t dash_routes_count = sizeof dash_routes / sizeof dash_routes[0];
