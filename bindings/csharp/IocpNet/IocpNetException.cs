using IocpNet.Native;

namespace IocpNet;

/// <summary>A failed iocpnet call: the engine's code, its name and this thread's detail message.</summary>
public sealed class IocpNetException : Exception
{
    /// <summary>Creates an exception for <paramref name="code"/>.</summary>
    /// <param name="code">The engine's result code.</param>
    /// <param name="codeName">Its name, e.g. "IOCPNET_E_NOT_FOUND".</param>
    /// <param name="detail">The detail message ("" when there is none).</param>
    /// <param name="operation">The call that failed, for the message.</param>
    public IocpNetException(ErrorCode code, string codeName, string detail, string operation)
        : base(FormatMessage(code, codeName, detail, operation))
    {
        Code = code;
        CodeName = codeName;
        Detail = detail;
    }

    /// <summary>The engine's result code.</summary>
    public ErrorCode Code { get; }

    /// <summary>The code's name from <c>iocpnet_err_name</c>, e.g. "IOCPNET_E_NOT_FOUND".</summary>
    public string CodeName { get; }

    /// <summary>The detail from <c>iocpnet_last_error_message</c> at the time of failure ("" when none).</summary>
    public string Detail { get; }

    private static string FormatMessage(ErrorCode code, string codeName, string detail, string operation)
    {
        string text = $"{operation} failed: {codeName} ({NativeApi.iocpnet_strerror((int)code)})";
        return detail.Length > 0 ? $"{text}: {detail}" : text;
    }

    /// <summary>Builds the exception for a negative result; reads the detail on the failing thread.</summary>
    internal static IocpNetException FromCode(int rc, string operation)
    {
        string detail = NativeApi.iocpnet_last_error_message();
        return new IocpNetException((ErrorCode)rc, NativeApi.iocpnet_err_name(rc), detail, operation);
    }

    /// <summary>Throws for a negative result; does nothing for IOCPNET_OK.</summary>
    internal static void Check(int rc, string operation)
    {
        if (rc < 0)
            throw FromCode(rc, operation);
    }
}
