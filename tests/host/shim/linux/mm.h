/* SPDX-License-Identifier: GPL-2.0 */
/* Host build of the persistent-data engine: see ../host-kernel.h. */
#include "../host-kernel.h"
