/*
 * migrate.h — the numbered schema migrations compiled into the binary.
 *
 * src/store/migrations/<driver>/NNN_name.sql files are embedded by
 * scripts/embed-sql.sh into store_migrations[] in ascending order. A store
 * backend applies, at open, every migration whose number is above the
 * database's schema version, each in its own transaction, and refuses to
 * open a database whose version is newer than the binary knows.
 */
#ifndef TGCRM_STORE_MIGRATE_H
#define TGCRM_STORE_MIGRATE_H

struct store_migration {
    int version;        /* NNN from the file name */
    const char *name;   /* the rest of the file name */
    const char *sql;    /* the whole file; several statements */
};

extern const struct store_migration store_migrations[];
extern const int store_migrations_count;

#endif
