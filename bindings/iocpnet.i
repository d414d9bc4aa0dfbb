/* Shared SWIG interface for every language binding. Each language's own
 * file (bindings/<lang>/*.i) sets %module, its typemaps and how callbacks
 * enter the language, then %includes this file. Generated code is a build
 * output, never committed. */
%{
#include "iocpnet/iocpnet.h"
%}

/* SWIG must see the header as plain C: no calling-convention or export macros. */
#define IOCPNET_API
#define IOCPNET_CALL

%include <stdint.i>
