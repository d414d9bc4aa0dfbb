package org.iocpnet;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads the JNI library ({@code libiocpnet_jni.so} / {@code iocpnet_jni.dll}).
 * By default it is extracted from the jar ({@code native/<os>-<arch>/}) into a
 * private temporary directory and loaded from there; the system property
 * {@code iocpnet.library.path=DIR} loads it from DIR instead.
 */
final class NativeLoader {
    private static boolean loaded;

    private NativeLoader() {}

    /** Loads the library once; later calls return at once. */
    static synchronized void load() {
        if (loaded) return;
        String file = System.mapLibraryName("iocpnet_jni");
        String dir = System.getProperty("iocpnet.library.path");
        if (dir != null && !dir.isEmpty()) {
            System.load(new File(dir, file).getAbsolutePath());
        } else {
            loadFromJar(platform() + "/" + file, file);
        }
        loaded = true;
    }

    /** "linux-x86_64", "windows-x86_64", ... as the jar's native/ folders are named. */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.startsWith("windows") ? "windows" : os.startsWith("mac") ? "macos" : os.replace(' ', '_');
        String a = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64" : arch.equals("aarch64") ? "aarch64" : arch;
        return o + "-" + a;
    }

    private static void loadFromJar(String resource, String file) {
        try (InputStream in = NativeLoader.class.getResourceAsStream("/native/" + resource)) {
            if (in == null) {
                throw new UnsatisfiedLinkError("iocpnet: no native/" + resource
                        + " in the jar for this platform; set -Diocpnet.library.path=DIR");
            }
            // createTempDirectory makes an owner-only (0700) directory on POSIX,
            // so no other user can swap the library before it is loaded.
            Path tmp = Files.createTempDirectory("iocpnet-");
            Path lib = tmp.resolve(file);
            Files.copy(in, lib, StandardCopyOption.REPLACE_EXISTING);
            System.load(lib.toAbsolutePath().toString());
            // A loaded library stays mapped after unlink on Linux; Windows keeps
            // the file locked, so there it goes when the JVM exits.
            try {
                Files.delete(lib);
                Files.delete(tmp);
            } catch (IOException locked) {
                tmp.toFile().deleteOnExit(); // registered first: runs after the file's
                lib.toFile().deleteOnExit();
            }
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError("iocpnet: cannot extract native/" + resource + ": " + e);
            err.initCause(e);
            throw err;
        }
    }
}
