# Cross-build for 64-bit Windows with Debian's mingw-w64 (posix threads, so
# std::thread and std::mutex work). Used by `scripts/build.sh mingw`.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(_mingw x86_64-w64-mingw32)

find_program(CMAKE_C_COMPILER NAMES ${_mingw}-gcc-posix ${_mingw}-gcc REQUIRED)
find_program(CMAKE_CXX_COMPILER NAMES ${_mingw}-g++-posix ${_mingw}-g++ REQUIRED)
find_program(CMAKE_RC_COMPILER NAMES ${_mingw}-windres)
set(CMAKE_FIND_ROOT_PATH /usr/${_mingw})
# Programs from the host, libraries and headers only from the target sysroot.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The mingw runtime (libgcc, libstdc++, winpthread) goes into every binary, so
# iocpnet.dll and the .exe run on a bare Windows with nothing beside them.
# -static only affects -l lookups; iocpnet.dll itself stays a DLL (CMake
# passes its import library by full path).
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++ -static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++ -static")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++ -static")

# ctest, catch_discover_tests and add_test run the .exe under Wine.
find_program(IOCPNET_WINE NAMES wine64 wine)
if(IOCPNET_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${IOCPNET_WINE})
endif()
