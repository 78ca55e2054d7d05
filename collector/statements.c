/*
 * statements.c — the collector's SQL, one named prepared statement per row,
 * each noting the function that uses it. Prepared on every pooled connection.
 */
#include "collector.h"

const struct db_statement col_statements[] = {
    /* col_landing: how many studies exist */
    {"col_count_studies", "SELECT count(*) FROM studies"},
    {NULL, NULL},
};
