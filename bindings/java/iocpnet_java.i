/* Java binding: the JNI layer SWIG generates at build time (build/java/gen).
 * The generated classes are package-private plumbing in org.iocpnet; the
 * public API is the hand-written Port/Handler/... in src/. */
%module(directors="1") IocpNetNative

%include "../iocpnet.i"

%{
#include "glue.hpp"
%}

%include <typemaps.i>
%include <std_string.i>

/* Generated classes stay out of the public API. */
%pragma(java) jniclassclassmodifiers = "final class"
%pragma(java) moduleclassmodifiers = "final class"
%typemap(javaclassmodifiers) SWIGTYPE "class"
/* The JNI class loads the library from the jar before anything else runs. */
%pragma(java) jniclasscode = %{
  static { NativeLoader.load(); }
%}
/* No finalize(): Port frees its NativePort explicitly in close(); a handler
 * is owned by the C++ side once handed over. */
%typemap(javafinalize) SWIGTYPE ""

/* A glue method that needs the JNIEnv gets the wrapper's. */
%typemap(in, numinputs=0) JNIEnv * %{ $1 = jenv; %}

/* int64_t is a Java long (SWIG's stdint.i: long long on this word size). */
%apply long long *OUTPUT { int64_t *OUTPUT };

/* onData's view of engine memory: a direct ByteBuffer over it, no copy,
 * valid only during the call: the worker thread's one buffer re-pointed at
 * the bytes (no allocation per call), emptied when the upcall returns
 * (recv_view.cpp). A fresh buffer's local reference is freed after the
 * upcall too (worker threads stay attached, so nothing else would free it). */
%typemap(jni) iocpnet_java::Bytes "jobject"
%typemap(jtype) iocpnet_java::Bytes "java.nio.ByteBuffer"
%typemap(jstype) iocpnet_java::Bytes "java.nio.ByteBuffer"
%typemap(javain) iocpnet_java::Bytes "$javainput"
%typemap(javadirectorin) iocpnet_java::Bytes "$jniinput"
%typemap(directorin, descriptor="Ljava/nio/ByteBuffer;", noblock=1) iocpnet_java::Bytes {
  iocpnet_java::RecvView $1_view(jenv, $1.data, $1.len);
  $input = $1_view.get();
}
%typemap(in) iocpnet_java::Bytes %{
  $1.data = (const uint8_t *)jenv->GetDirectBufferAddress($input);
  $1.len = $1.data ? (size_t)jenv->GetDirectBufferCapacity($input) : 0;
%}

/* The exception a handler threw, as a global reference owned by the glue. */
%typemap(jni) jthrowable "jthrowable"
%typemap(jtype) jthrowable "Throwable"
%typemap(jstype) jthrowable "Throwable"
%typemap(in) jthrowable "$1 = $input;"
%typemap(javain) jthrowable "$javainput"
%typemap(javadirectorin) jthrowable "$jniinput"
%typemap(directorin, descriptor="Ljava/lang/Throwable;") jthrowable "$input = $1;"

%feature("director") iocpnet_java::NativeHandler;
%feature("director") iocpnet_java::NativeLogger;

/* A Java exception must never unwind into the engine: clear it and keep it
 * for the trampoline in glue.cpp, which reports it (onHandlerException) and
 * closes the connection. No early return, so the upcall's local references
 * are still released. */
%feature("director:except") %{
  jthrowable $error = jenv->ExceptionOccurred();
  if ($error) {
    jenv->ExceptionClear();
    iocpnet_java::stash_exception(jenv, $error);
  }
%}

/* Bytes only exists to be typemapped; it needs no class of its own. */
%ignore iocpnet_java::Bytes;

%include "glue.hpp"
