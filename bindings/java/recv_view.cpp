// onData's ByteBuffer without an allocation per call (see glue.hpp, RecvView).
//
// NewDirectByteBuffer constructs a java.nio.DirectByteBuffer through a JNI
// call into Java (its constructor) for every onData: in a 64 B echo that was
// ~3 % of the server's CPU (perf: jni_NewObjectV, JavaCalls::call_helper,
// the allocation). Instead each worker thread keeps one direct buffer and
// re-points it at each call's bytes by writing the two fields that make a
// direct buffer (java.nio.Buffer.address and .capacity; JNI may write
// private fields). The Java side (Dispatcher.onData) resets position, limit,
// mark and byte order before the handler runs and sets the limit to 0 after
// it; here, after the upcall, the capacity goes to 0, so a reference kept
// past the call reads nothing instead of freed engine memory.
//
// Fallbacks to a fresh buffer per call (the old way): the fields are not
// there (a JDK that renamed them), a nested onData on the same thread while
// the outer one still uses the thread's buffer, or a length above INT_MAX.
#include "glue.hpp"

#include <climits>

namespace iocpnet_java {
namespace {

JavaVM *g_view_vm = nullptr;
jfieldID g_address = nullptr;  // java.nio.Buffer.address (long)
jfieldID g_capacity = nullptr; // java.nio.Buffer.capacity (int)

// The thread's buffer: a global reference, made on its first onData.
struct ThreadView {
    jobject buf = nullptr;
    int depth = 0; // onData calls of this thread using buf now (0 or 1)
    ~ThreadView() {
        // C++ thread_local destructors run before pthread key destructors, so a
        // worker is normally still attached here (SWIG detaches it in its key's).
        if (!buf || !g_view_vm) return;
        JNIEnv *env = nullptr;
        if (g_view_vm->GetEnv(reinterpret_cast<void **>(&env), JNI_VERSION_1_8) == JNI_OK) {
            env->DeleteGlobalRef(buf);
        } else if (g_view_vm->AttachCurrentThreadAsDaemon(reinterpret_cast<void **>(&env), nullptr) == JNI_OK) {
            env->DeleteGlobalRef(buf); // a build without the detach flag: attach just for this
            g_view_vm->DetachCurrentThread();
        }
    }
};
thread_local ThreadView t_view;

} // namespace

void init_recv_view(JavaVM *vm, JNIEnv *env) {
    g_view_vm = vm;
    jclass buffer = env->FindClass("java/nio/Buffer");
    if (!buffer) { env->ExceptionClear(); return; }
    jfieldID address = env->GetFieldID(buffer, "address", "J");
    if (!address) env->ExceptionClear();
    jfieldID capacity = address ? env->GetFieldID(buffer, "capacity", "I") : nullptr;
    if (!capacity) env->ExceptionClear();
    env->DeleteLocalRef(buffer);
    if (address && capacity) g_address = address, g_capacity = capacity;
}

void *direct_address(JNIEnv *env, jobject buf) {
    // GetDirectBufferAddress first checks that buf is a java.nio.DirectBuffer
    // (IsInstanceOf, ~0.4 % of a 64 B echo's CPU); the Java caller checked isDirect().
    if (g_address) return reinterpret_cast<void *>(static_cast<uintptr_t>(env->GetLongField(buf, g_address)));
    return env->GetDirectBufferAddress(buf);
}

RecvView::RecvView(JNIEnv *env, const uint8_t *data, size_t len) : env_(env) {
    void *p = const_cast<uint8_t *>(data);
    ThreadView &tv = t_view;
    if (g_address && tv.depth == 0 && len <= static_cast<size_t>(INT_MAX)) {
        if (tv.buf) {
            env->SetLongField(tv.buf, g_address, static_cast<jlong>(reinterpret_cast<uintptr_t>(p)));
            env->SetIntField(tv.buf, g_capacity, static_cast<jint>(len));
        } else {
            jobject local = env->NewDirectByteBuffer(p, static_cast<jlong>(len));
            if (local) {
                tv.buf = env->NewGlobalRef(local);
                env->DeleteLocalRef(local);
            }
        }
        if (tv.buf) {
            buf_ = tv.buf;
            reused_ = true;
            ++tv.depth;
            return;
        }
        env->ExceptionClear(); // out of memory for the first one: try a plain one below
    }
    buf_ = env->NewDirectByteBuffer(p, static_cast<jlong>(len));
}

RecvView::~RecvView() {
    if (!buf_) return;
    // Empty it: with capacity 0 (and the limit 0 that Dispatcher set) no
    // ByteBuffer call can reach the memory behind the address any more, not
    // even after clear(); the stale address itself is left (one JNI call less).
    if (g_address) env_->SetIntField(buf_, g_capacity, 0);
    if (reused_) --t_view.depth;
    else env_->DeleteLocalRef(buf_);
}

} // namespace iocpnet_java
