/* C# binding: SWIG 4.1 generates the P/Invoke layer (IocpNet.Native.NativeApi
 * and its NativeMethods DllImports) from the public header at build time.
 *
 * Design: the generated DllImports bind DIRECTLY to the exports of
 * libiocpnet.so.1 / iocpnet.dll; the C wrapper file SWIG also writes is not
 * compiled. Every typemap below is therefore a pure pass-through whose C#
 * type has exactly the C ABI of the parameter (ulong for uint64_t, nuint for
 * size_t, raw pointers for buffers and structs, IntPtr for the opaque port),
 * and generate.sh rewrites SWIG's "CSharp_<fn>" entry points to "<fn>".
 * Why: one native library per platform (the same one C users ship) instead
 * of a second shim per RID to build and package, no extra call hop on the
 * send path, and nothing that breaks under trimming/AOT. The test suite's
 * Marshal.PrelinkAll check proves every entry point resolves.
 *
 * Run with -DSWIG_CSHARP_NO_EXCEPTION_HELPER -DSWIG_CSHARP_NO_STRING_HELPER
 * -DSWIG_CSHARP_NO_IMCLASS_STATIC_CONSTRUCTOR (generate.sh does): those
 * helpers live in the uncompiled wrapper. */
%module(imclassname="NativeMethods") NativeApi

%pragma(csharp) imclassclassmodifiers="internal static unsafe class"
%pragma(csharp) moduleclassmodifiers="internal static unsafe class"
%typemap(csclassmodifiers) enum SWIGTYPE "internal enum"
/* Generated files count as auto-generated: nullable annotations need this. */
%pragma(csharp) imclassimports="#nullable enable"
%pragma(csharp) moduleimports="#nullable enable"
/* Constants and enum values as C# literals: no getter calls into a wrapper. */
%csconst(1);

%include "../iocpnet.i"

/* Pass-through mapping: C type CTYPE is the C# type CSTYPE on every layer. */
%define IOCPNET_CS_PASS(CSTYPE, CTYPES...)
%typemap(ctype) CTYPES "$1_type"
%typemap(imtype) CTYPES "CSTYPE"
%typemap(cstype) CTYPES "CSTYPE"
%typemap(in) CTYPES %{ $1 = ($1_ltype)$input; %}
%typemap(out) CTYPES %{ $result = $1; %}
%typemap(csin) CTYPES "$csinput"
%typemap(csout, excode=SWIGEXCODE) CTYPES { CSTYPE ret = $imcall;$excode return ret; }
%enddef

/* An out-parameter: the C# caller's variable is the native pointer target. */
%define IOCPNET_CS_OUT(CSTYPE, CTYPES...)
%typemap(ctype) CTYPES "$1_type"
%typemap(imtype) CTYPES "out CSTYPE"
%typemap(cstype) CTYPES "out CSTYPE"
%typemap(in) CTYPES %{ $1 = ($1_ltype)$input; %}
%typemap(csin) CTYPES "out $csinput"
%enddef

/* SWIG 4.1 on LP64 makes uint64_t "unsigned long" -> C# uint and size_t ->
 * uint: both truncate. Ids are 64-bit, lengths are pointer-sized. */
IOCPNET_CS_PASS(ulong, uint64_t, iocpnet_conn, iocpnet_listener, iocpnet_timer)
IOCPNET_CS_PASS(nuint, size_t)
IOCPNET_CS_PASS(uint, uint32_t)
IOCPNET_CS_PASS(ushort, uint16_t)
IOCPNET_CS_PASS(int, int)

/* The opaque engine handle, and a TLS configuration's. */
IOCPNET_CS_PASS(global::System.IntPtr, iocpnet_port *, iocpnet_tls *)
/* The TLS options struct: a blittable mirror (NativeTlsOptions) like the others. */
IOCPNET_CS_PASS(IocpNet.Native.NativeTlsOptions*, iocpnet_tls_options *, const iocpnet_tls_options *)
/* Application pointers (GCHandle values on the managed side). */
IOCPNET_CS_PASS(global::System.IntPtr, void *user, void *arg, void *free_arg)

/* Payloads are bytes, never strings. */
IOCPNET_CS_PASS(byte*, const void *data, char *buf, const void *body)
IOCPNET_CS_PASS(ulong*, const iocpnet_conn *conns)
/* send_many_ex: one result code per receiver, written by the engine. */
IOCPNET_CS_PASS(int*, int *results)
/* sendv: an array of {pointer, length} (NativeBuf mirrors iocpnet_buf). */
IOCPNET_CS_PASS(IocpNet.Native.NativeBuf*, const iocpnet_buf *bufs)

/* Versioned structs: blittable mirrors in NativeStructs.cs (their sizes are
 * checked against struct_size written by the C _init functions). */
IOCPNET_CS_PASS(IocpNet.Native.NativeConfig*, iocpnet_config *, const iocpnet_config *)
IOCPNET_CS_PASS(IocpNet.Native.NativeConnOptions*, iocpnet_conn_options *, const iocpnet_conn_options *)
IOCPNET_CS_PASS(IocpNet.Native.NativeCallbacks*, const iocpnet_callbacks *)
IOCPNET_CS_PASS(IocpNet.Native.NativeStats*, iocpnet_stats *)

/* Function pointers: unmanaged Cdecl pointers to [UnmanagedCallersOnly] methods. */
IOCPNET_CS_PASS(%arg(delegate* unmanaged[Cdecl]<global::System.IntPtr, void>), void (*fn)(void *))
IOCPNET_CS_PASS(%arg(delegate* unmanaged[Cdecl]<global::System.IntPtr, uint, byte*, void>), iocpnet_log_fn)
/* The callbacks of send_owned (free), timer_start and conn_post. */
IOCPNET_CS_PASS(%arg(delegate* unmanaged[Cdecl]<global::System.IntPtr, byte*, void>), iocpnet_free_fn)
IOCPNET_CS_PASS(%arg(delegate* unmanaged[Cdecl]<global::System.IntPtr, global::System.IntPtr, ulong, void>), iocpnet_timer_fn, iocpnet_conn_fn)
/* (C-wrapper spelling only, so the unused wrapper still parses as C.) */
%typemap(ctype) void (*fn)(void *) "void *"

IOCPNET_CS_OUT(global::System.IntPtr, iocpnet_port **out, iocpnet_tls **out)
IOCPNET_CS_OUT(ulong, iocpnet_conn *out, iocpnet_listener *out, iocpnet_timer *out, uint64_t *out)
IOCPNET_CS_OUT(ushort, uint16_t *out)
IOCPNET_CS_OUT(uint, uint32_t *out)
IOCPNET_CS_OUT(global::System.IntPtr, void **out)
IOCPNET_CS_OUT(nuint, size_t *queued)

/* Static C strings are returned as pointers: a DllImport returning `string`
 * would free the library's static buffer. NativeApi decodes them as UTF-8. */
%typemap(ctype) const char * "const char *"
%typemap(imtype) const char * "byte*"
%typemap(cstype) const char * "string"
%typemap(out) const char * %{ $result = $1; %}
%typemap(csout, excode=SWIGEXCODE) const char * {
    string ret = global::System.Runtime.InteropServices.Marshal.PtrToStringUTF8((global::System.IntPtr)$imcall) ?? "";$excode
    return ret;
  }
/* Host names (and the WebSocket header name, page path and content type)
 * go in as NUL-terminated UTF-8 on every platform. */
%typemap(ctype) const char *host, const char *name, const char *path, const char *content_type "const char *"
%typemap(imtype, inattributes="[global::System.Runtime.InteropServices.MarshalAs(global::System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)]") const char *host, const char *name, const char *path, const char *content_type "string?"
%typemap(cstype) const char *host, const char *name, const char *path, const char *content_type "string?"
%typemap(in) const char *host, const char *name, const char *path, const char *content_type %{ $1 = ($1_ltype)$input; %}
%typemap(csin) const char *host, const char *name, const char *path, const char *content_type "$csinput"

/* The structs themselves are mirrored by hand (SWIG's C# proxies would call
 * accessor functions in the wrapper); their pointer types are mapped above. */
%ignore iocpnet_config;
%ignore iocpnet_conn_options;
%ignore iocpnet_callbacks;
%ignore iocpnet_stats;
%ignore iocpnet_buf;
%ignore iocpnet_tls_options;

%include "iocpnet/iocpnet.h"
