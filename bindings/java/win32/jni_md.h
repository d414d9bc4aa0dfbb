/* The Windows half of <jni.h> for cross-building iocpnet_jni.dll with mingw
 * on Linux, whose JDK only ships include/linux/jni_md.h. The JNI spec fixes
 * these: jint is 32 bits, jlong 64, jbyte signed 8; exports are dllexport
 * and JNICALL is __stdcall (ignored on x86-64). */
#ifndef IOCPNET_WIN32_JNI_MD_H
#define IOCPNET_WIN32_JNI_MD_H
#define JNIEXPORT __declspec(dllexport)
#define JNIIMPORT __declspec(dllimport)
#define JNICALL __stdcall
typedef long jint;
typedef long long jlong;
typedef signed char jbyte;
#endif
