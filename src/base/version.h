/*
 * version.h — the one place the version of tgcrm is written: `tgcrm
 * version` prints it and the CTRF report names the tool with it. A build
 * may override it with -DTGCRM_VERSION=... .
 */
#ifndef TGCRM_BASE_VERSION_H
#define TGCRM_BASE_VERSION_H

#ifndef TGCRM_VERSION
#define TGCRM_VERSION "0.1.0"
#endif

#endif
