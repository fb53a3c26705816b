# shellcheck shell=sh
# Login shells reset PATH in /etc/profile: put the image's virtual environment back in front.
if [ -d /opt/venv/bin ]; then
    VIRTUAL_ENV=/opt/venv
    case ":$PATH:" in
    *":/opt/venv/bin:"*) ;;
    *) PATH="/opt/venv/bin:$PATH" ;;
    esac
    export VIRTUAL_ENV PATH
fi
