// iocpnet.dll's entry point (Windows): OpenSSL is linked statically, so no
// libcrypto DLL receives DLL_THREAD_DETACH to free a thread's OpenSSL state
// (its error queue, per-thread caches). Every thread that exits while the
// DLL is loaded — each port's workers at destroy, the user's threads that
// sent on a TLS connection — passes through here instead; for a thread that
// never used OpenSSL the call does nothing. (OpenSSL's OPENSSL_thread_stop
// notes; curl's DLL does the same.)
#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>

#include <openssl/crypto.h>

extern "C" BOOL WINAPI DllMain(HINSTANCE, DWORD reason, LPVOID) {
    if (reason == DLL_THREAD_DETACH) OPENSSL_thread_stop();
    return TRUE;
}
#endif
