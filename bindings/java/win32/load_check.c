/* Smoke test of iocpnet_jni.dll under Wine (there is no Windows JVM here):
 * the DLL loads with nothing beside it, exports the JNI entry points and its
 * engine answers. Java_..._version ignores its JNIEnv, so NULL is fine. */
#include <windows.h>
#include <stdio.h>

typedef long(__stdcall *version_fn)(void *env, void *cls);

int main(int argc, char **argv) {
    HMODULE h = LoadLibraryA(argc > 1 ? argv[1] : "iocpnet_jni.dll");
    if (!h) { printf("LoadLibrary failed: %lu\n", GetLastError()); return 1; }
    const char *names[] = {"JNI_OnLoad", "Java_org_iocpnet_IocpNetNativeJNI_NativePort_1send",
                           "Java_org_iocpnet_IocpNetNativeJNI_swig_1module_1init"};
    for (int i = 0; i < 3; i++)
        if (!GetProcAddress(h, names[i])) { printf("missing export %s\n", names[i]); return 1; }
    version_fn v = (version_fn)GetProcAddress(h, "Java_org_iocpnet_IocpNetNativeJNI_version");
    if (!v) { printf("missing export version\n"); return 1; }
    long ver = v(NULL, NULL);
    printf("iocpnet_jni.dll ok: engine %ld.%ld.%ld\n", ver >> 16, (ver >> 8) & 0xff, ver & 0xff);
    return ver == 0x010000 ? 0 : 1;
}
